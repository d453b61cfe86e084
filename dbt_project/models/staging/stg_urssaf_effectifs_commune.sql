-- Private salaried jobs per commune x APE x year (one raw row per year of the wide file).
select
    'urssaf_effectifs_commune' as source_id, vintage, year, geography, source_file, source_row,
    {{ fold_arrondissement(commune_code('commune_code')) }} as commune_code,
    {{ to_number('salaried_jobs') }} as private_salaried_jobs,
    {{ duplicate_key_or(numeric_problem(['salaried_jobs'])) }} as quarantine_reason
from {{ source('raw', 'urssaf_effectifs_commune') }}
where vintage = (select max(vintage) from {{ source('raw', 'urssaf_effectifs_commune') }})
