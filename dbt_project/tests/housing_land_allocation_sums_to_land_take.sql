-- Allocated housing land of each territory and year sums to its housing land take, at commune
-- level and at the levels whose territories hold whole communes' flows (EPCI, custom groups).
with allocated as (
    select level, origin_code as code, year, sum(value) as allocated_ha
    from {{ ref('material_flows') }}
    where flow_kind = 'housing_land_for_jobs' and level in ('commune', 'epci', 'group')
      and origin_code <> 'outside'  -- the communes in no group or EPCI: no territory of its own
    group by all
),
taken as (
    select level, code, year, land_take_housing_ha
    from {{ ref('territory_indicators') }}
    where level in ('commune', 'epci', 'group')
)
select level, code, year, t.land_take_housing_ha, a.allocated_ha
from taken as t
full join allocated as a using (level, code, year)
where (t.land_take_housing_ha is not null or a.allocated_ha is not null)
  and abs(coalesce(t.land_take_housing_ha, 0) - coalesce(a.allocated_ha, 0)) > 1e-4
