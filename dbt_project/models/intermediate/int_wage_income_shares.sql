-- Per territory and wage year, from the modelled wage income (int_wage_income_levels):
--   resident_wage_income_eur: wages of the territory's resident commuters, wherever they work;
--   the part of it earned in another territory (or abroad);
--   job_wage_income_eur: wages of the jobs in the territory held by commuters, wherever they live;
--   the part of it paid to residents of another territory.
with sides as (
    select level, year, destination_code as code, value, origin_code <> destination_code as elsewhere, 'resident' as side
    from {{ ref('int_wage_income_levels') }}
    union all
    select level, year, origin_code, value, origin_code <> destination_code, 'job'
    from {{ ref('int_wage_income_levels') }}
)
select level, code, year,
    cast(sum({{ fixed_point('value') }}) filter (where side = 'resident') as double) as resident_wage_income_eur,
    cast(sum({{ fixed_point('value') }}) filter (where side = 'resident' and elsewhere) as double) as resident_wage_income_earned_elsewhere_eur,
    cast(sum({{ fixed_point('value') }}) filter (where side = 'job') as double) as job_wage_income_eur,
    cast(sum({{ fixed_point('value') }}) filter (where side = 'job' and elsewhere) as double) as job_wage_income_paid_elsewhere_eur
from sides
group by all
