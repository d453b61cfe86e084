-- stg_insee_salaires_commune with its commune codes re-based to the target geography (see macro rebase_rows).
{{ rebase_rows(ref('stg_insee_salaires_commune'), ['commune_code']) }}
