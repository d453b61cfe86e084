-- Agricultural area by commune of the farms' headquarters and main crop group, per agricultural
-- census: the commune rows (not France, région or département subtotals, whose commune column holds
-- twelve dots), all farms (not one size class), the area measure (not the number of farms), the main
-- crop groups (sub-groups, whose labels start with "_", are inside them). A secret cell (empty
-- value) is kept with area_ha null: the commune's area is then a lower bound.
with rows as (
    select * from {{ source('raw', 'agreste_recensement_agricole') }}
    where trim(commune_code) not like '.%'
      and trim(size_class) = 'Ensemble des exploitations (hors pacages collectifs)'
      and trim(measure) = 'Superficie correspondante (hectares)'
      and trim(crop) not like '\_%' escape '\'
)
select
    'agreste_recensement_agricole' as source_id, vintage, try_cast(census_year as integer) as year, geography,
    source_file, source_row,
    {{ fold_arrondissement(commune_code('commune_code')) }} as commune_code,
    trim(crop_code) as crop_code,
    trim(crop) as crop,
    lower(trim(crop)) = 'jachères' as is_fallow,
    {{ to_number('value') }} as area_ha,
    (nullif(trim(value), '') is null)::int as secretised_cells,
    coalesce(
        {{ duplicate_key_problem() }},
        case when try_cast(census_year as integer) is null then 'not a year in census_year: ' || coalesce(census_year, '(empty)') end,
        {{ numeric_problem(['value']) }}
    ) as quarantine_reason
from rows
