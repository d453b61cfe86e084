-- stg_agreste_recensement_agricole with its commune codes re-based to the target geography (see macro rebase_rows).
{{ rebase_rows(ref('stg_agreste_recensement_agricole'), ['commune_code']) }}
