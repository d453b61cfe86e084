-- stg_census_employment with its commune codes re-based to the target geography (see macro rebase_rows).
{{ rebase_rows(ref('stg_census_employment'), ['commune_code']) }}
