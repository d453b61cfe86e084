-- stg_insee_grille_densite with its commune codes re-based to the target geography (see macro rebase_rows).
{{ rebase_rows(ref('stg_insee_grille_densite'), ['commune_code']) }}
