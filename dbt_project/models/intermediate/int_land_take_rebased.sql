-- stg_cerema_enaf with its commune codes re-based to the target geography (see macro rebase_rows).
{{ rebase_rows(ref('stg_cerema_enaf'), ['commune_code']) }}
