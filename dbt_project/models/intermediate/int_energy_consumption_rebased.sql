-- stg_energy_consumption with its commune codes re-based to the target geography (see macro rebase_rows).
{{ rebase_rows(ref('stg_energy_consumption'), ['commune_code']) }}
