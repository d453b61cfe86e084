-- stg_ore_conso_elec_gaz with its commune codes re-based to the target geography (see macro rebase_rows).
{{ rebase_rows(ref('stg_ore_conso_elec_gaz'), ['commune_code']) }}
