-- stg_insee_emploi_pop_active with its commune codes re-based to the target geography (see macro rebase_rows).
{{ rebase_rows(ref('stg_insee_emploi_pop_active'), ['commune_code']) }}
