select
    'insee_emploi_pop_active' as source_id, vintage, vintage as year, geography, source_file, source_row,
    {{ fold_arrondissement(commune_code('commune_code')) }} as commune_code,
    {{ to_number('jobs') }} as census_jobs,
    {{ to_number('employed_residents') }} as census_employed_residents,
    {{ duplicate_key_or(numeric_problem(['jobs', 'employed_residents'])) }} as quarantine_reason
from {{ source('raw', 'insee_emploi_pop_active') }}
