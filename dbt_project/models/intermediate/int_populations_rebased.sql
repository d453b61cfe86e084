-- stg_populations with its commune codes re-based to the target geography (see macro rebase_rows).
{{ rebase_rows(ref('stg_populations'), ['commune_code']) }}
