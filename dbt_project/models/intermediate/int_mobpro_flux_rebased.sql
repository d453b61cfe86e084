-- stg_insee_mobpro_flux with its commune codes re-based to the target geography (see macro rebase_rows).
{{ rebase_rows(ref('stg_insee_mobpro_flux'), ['residence_code', 'workplace_code'], abroad_allowed=['workplace_code']) }}
