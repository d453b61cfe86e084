-- Farmland of each territory against the farmland its inhabitants need, per agricultural census:
--   productive area = agricultural area (the census's main crop groups) - fallow land
--   need            = municipal population x var food_land_per_inhabitant_ha
--   balance         = productive area - need (> 0 a surplus, < 0 a deficit), in ha.
-- A territory with no farm headquarters in a census has no row in it: its area is 0, not unknown.
-- The population is the latest legal population (one vintage): the balance says whether today's
-- inhabitants could be fed by the farmland of that census. A commune with secret cells has a lower
-- bound of its area (agricultural_secretised_cells in territory_indicators).
with census_years as (
    select distinct year from {{ ref('int_agricultural_area_rebased') }} where quarantine_reason is null
),
areas as (
    select level, commune_code as code, year,
        sum(value) filter (where indicator = 'agricultural_area_ha') as agricultural_area_ha,
        sum(value) filter (where indicator = 'fallow_area_ha') as fallow_area_ha
    from {{ ref('int_measures_levels') }}
    where commune_code <> 'outside' and indicator in ('agricultural_area_ha', 'fallow_area_ha')
    group by all
),
population as (
    select * from {{ ref('int_territory_population') }}
),
balances as (
    select p.level, p.code, y.year,
        coalesce(a.agricultural_area_ha, 0) as agricultural_area_ha,
        coalesce(a.agricultural_area_ha, 0) - coalesce(a.fallow_area_ha, 0) as productive_area_ha,
        p.population,
        {{ var('food_land_per_inhabitant_ha') }} as food_land_per_inhabitant_ha
    from population as p
    cross join census_years as y
    left join areas as a on a.level = p.level and a.code = p.code and a.year = y.year
)
select *,
    population * food_land_per_inhabitant_ha as food_land_need_ha,
    productive_area_ha - population * food_land_per_inhabitant_ha as food_land_balance_ha
from balances
