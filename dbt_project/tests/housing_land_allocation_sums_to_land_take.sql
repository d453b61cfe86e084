-- Allocated housing land of each commune and year sums to its housing land take.
with allocated as (
    select origin_code as code, year, sum(value) as allocated_ha
    from {{ ref('material_flows') }}
    where flow_kind = 'housing_land_for_jobs' and level = 'commune'
    group by all
)
select i.code, i.year, i.land_take_housing_ha, a.allocated_ha
from {{ ref('territory_indicators') }} as i
full join allocated as a using (code, year)
where coalesce(i.level, 'commune') = 'commune'
  and (i.land_take_housing_ha is not null or a.allocated_ha is not null)
  and abs(coalesce(i.land_take_housing_ha, 0) - coalesce(a.allocated_ha, 0)) > 1e-4
