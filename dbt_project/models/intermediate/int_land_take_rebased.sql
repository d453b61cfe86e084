-- stg_land_take with its commune codes re-based to the target geography (see macro rebase_rows).
{{ rebase_rows(ref('stg_land_take'), ['commune_code']) }}
