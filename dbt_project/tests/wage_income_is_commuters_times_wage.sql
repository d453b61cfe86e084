-- Wage income as published (material_flows, commune level) is, for every pair, the commuters of the
-- pair in the complete census edition nearest to the wage year times the stated annual net wage of
-- their commune of residence (int_resident_wages): no pair more, none less, so every commuter of
-- that edition is paid. And every hourly wage is plausible (5 to 150 euros net).
with census_for_year as (
    {{ nearest_complete_census(ref('int_resident_wages')) }}
),
expected as (
    select c.year, f.destination_code as origin_code, f.origin_code as destination_code,
        f.value * w.annual_net_wage_eur as value
    from census_for_year as c
    join {{ ref('material_flows') }} as f on f.flow_kind = 'commuters' and f.level = 'commune' and f.year = c.census_year
    left join {{ ref('int_resident_wages') }} as w on w.year = c.year and w.commune_code = f.origin_code
),
published as (
    select year, origin_code, destination_code, value from {{ ref('material_flows') }}
    where flow_kind = 'wage_income' and level = 'commune'
)
select 'pair differs from commuters x wage' as problem, year, origin_code as code, destination_code as other_code,
    e.value as expected, p.value as published
from expected as e
full join published as p using (year, origin_code, destination_code)
where e.value is null or p.value is null or abs(e.value - p.value) > 1e-6 * abs(e.value) + 0.05
union all
select 'implausible hourly wage', year, commune_code, null, mean_net_hourly_wage_eur, null
from {{ ref('int_resident_wages') }}
where mean_net_hourly_wage_eur not between 5 and 150
