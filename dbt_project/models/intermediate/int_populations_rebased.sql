-- stg_insee_populations_legales with its commune codes re-based to the target geography (see macro rebase_rows).
{{ rebase_rows(ref('stg_insee_populations_legales'), ['commune_code']) }}
