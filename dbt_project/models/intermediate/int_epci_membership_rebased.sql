-- stg_insee_epci with its commune codes re-based to the target geography (see macro rebase_rows).
{{ rebase_rows(ref('stg_insee_epci'), ['commune_code']) }}
