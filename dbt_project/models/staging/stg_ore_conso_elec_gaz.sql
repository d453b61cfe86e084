-- Electricity and gas consumption in MWh by commune, operator, year and sector. A blank cell is
-- statistical secrecy (kept as null and counted), not zero.
select
    'ore_conso_elec_gaz' as source_id, vintage, geography, source_file, source_row,
    try_cast(year as integer) as year,
    case when lower(strip_accents(energy)) like 'electricit%' then 'electricity'
         when lower(energy) like 'gaz%' then 'gas' end as energy,
    operator,
    {{ fold_arrondissement(commune_code('commune_code')) }} as commune_code,
    {%- for s in var('energy_sectors') %}
    {{ to_number(s ~ '_mwh') }} as {{ s }}_mwh,
    {%- endfor %}
    ({%- for s in var('energy_sectors') %}
     (nullif(trim({{ s }}_mwh), '') is null)::integer{% if not loop.last %} +{% endif %}
    {%- endfor %}) as secretised_cells,
    coalesce(
        {{ duplicate_key_problem() }},
        case when try_cast(year as integer) is null then 'annee is not a year: ' || coalesce(year, 'null') end,
        case when not (lower(strip_accents(energy)) like 'electricit%' or lower(energy) like 'gaz%')
             then 'unknown filiere: ' || coalesce(energy, 'null') end,
        {{ numeric_problem(suffixed(var('energy_sectors'), '_mwh')) }}
    ) as quarantine_reason
from {{ source('raw', 'ore_conso_elec_gaz') }}
where vintage = (select max(vintage) from {{ source('raw', 'ore_conso_elec_gaz') }})
