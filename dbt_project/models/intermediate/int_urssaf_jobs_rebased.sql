-- stg_urssaf_effectifs_commune with its commune codes re-based to the target geography (see macro rebase_rows).
{{ rebase_rows(ref('stg_urssaf_effectifs_commune'), ['commune_code']) }}
