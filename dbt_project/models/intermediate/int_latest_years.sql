-- The latest year each flow source covers at each level of the ledger (a year with only zero flows
-- counts). A table of a few rows of its own, so that the planner builds its joins on it and not on
-- the ledger (estimated from the ledger, the lookup drove the national build out of memory).
select m.level,
    (select max(year) from {{ ref('int_census_editions') }}) as commuters_year,
    (select max(year) from {{ ref('int_housing_land_levels') }} as h where h.level = m.level) as housing_land_year,
    (select max(year) from {{ ref('int_energy_balance') }} as b where b.level = m.level) as electricity_year,
    (select max(year) from {{ ref('int_food_land_balance') }} as b where b.level = m.level) as food_land_year,
    (select max(year) from {{ ref('int_wage_income_levels') }} as w where w.level = m.level) as wage_year
from (select distinct level from {{ ref('material_flows') }}) as m
