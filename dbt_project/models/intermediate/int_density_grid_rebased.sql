-- stg_density_grid with its commune codes re-based to the target geography (see macro rebase_rows).
{{ rebase_rows(ref('stg_density_grid'), ['commune_code']) }}
