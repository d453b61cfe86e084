-- stg_insee_aav2020 with its commune codes re-based to the target geography (see macro rebase_rows).
{{ rebase_rows(ref('stg_insee_aav2020'), ['commune_code']) }}
