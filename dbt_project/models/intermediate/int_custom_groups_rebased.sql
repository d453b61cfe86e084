-- stg_custom_groups with its commune codes re-based to the target geography (see macro rebase_rows).
{{ rebase_rows(ref('stg_custom_groups'), ['commune_code']) }}
