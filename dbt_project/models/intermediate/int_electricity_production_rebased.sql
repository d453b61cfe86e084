-- stg_odre_registre_production with its commune codes re-based to the target geography (see macro rebase_rows).
{{ rebase_rows(ref('stg_odre_registre_production'), ['commune_code']) }}
