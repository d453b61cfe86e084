-- Municipal population; the file splits the code into DEP and CODCOM. Overseas communes come in
-- two layouts: DEP 971 + CODCOM 01, or DEP 971 (or 97) + CODCOM 101; both give 97101.
with coded as (
    select *,
        case when length(trim(departement_code)) = 3 and length(trim(commune_number)) = 2
             then upper(trim(departement_code)) || trim(commune_number)
             else upper(left(trim(departement_code), 2)) || trim(commune_number) end as code
    from {{ source('raw', 'insee_populations_legales') }}
    where vintage = (select max(vintage) from {{ source('raw', 'insee_populations_legales') }})
)
select
    'insee_populations_legales' as source_id, vintage, geography, source_file, source_row,
    code as commune_code,
    {{ to_number('municipal_population') }} as municipal_population,
    coalesce(
        {{ duplicate_key_problem() }},
        case when not {{ is_commune_code('code') }}
             then 'DEP and CODCOM do not make a commune code: ' || departement_code || ' + ' || commune_number end,
        {{ numeric_problem(['municipal_population']) }}
    ) as quarantine_reason
from coded
