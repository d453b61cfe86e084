-- Municipal population; the file splits the code into DEP and the 3-character CODCOM.
select
    'insee_populations_legales' as source_id, vintage, geography, source_file, source_row,
    upper(left(trim(departement_code), 2)) || trim(commune_number) as commune_code,
    {{ to_number('municipal_population') }} as municipal_population,
    coalesce(
        case when length(trim(commune_number)) <> 3 then 'CODCOM is not 3 characters: ' || commune_number end,
        {{ numeric_problem(['municipal_population']) }}
    ) as quarantine_reason
from {{ source('raw', 'insee_populations_legales') }}
where vintage = (select max(vintage) from {{ source('raw', 'insee_populations_legales') }})
