-- The annual net wage of a full-time job held by a resident of each target commune, per wage year:
--   annual_net_wage_eur = mean net hourly wage of the commune's resident employees (INSEE, Base
--                         Tous salariés) x var wage_paid_hours_per_year (a full-time year)
-- wage_basis 'commune': INSEE publishes the commune. 'departement': it does not (too few
-- employees), and the commune takes the mean of its département's published communes weighted by
-- their municipal population; 'france' the same over all published communes, for a département
-- with none. Communes merged since the wage year: the mean of their means.
with published as (
    select commune_code_target as commune_code, year,
        sum(mean_net_hourly_wage_eur * allocation_ratio) / sum(allocation_ratio) as hourly_wage_eur
    from {{ ref('int_net_wages_rebased') }}
    where quarantine_reason is null and mean_net_hourly_wage_eur is not null
    group by all
),
communes as (
    select c.commune_code, c.departement_code, coalesce(p.municipal_population, 0) as population
    from {{ ref('stg_insee_cog_communes') }} as c
    left join {{ ref('int_commune_population') }} as p using (commune_code)
),
weighted as (
    select c.departement_code, w.year, w.hourly_wage_eur * c.population as wage_x_population, c.population
    from published as w
    join communes as c using (commune_code)
),
departements as (
    select departement_code, year, sum(wage_x_population) / nullif(sum(population), 0) as hourly_wage_eur
    from weighted group by all
),
france as (
    select year, sum(wage_x_population) / nullif(sum(population), 0) as hourly_wage_eur
    from weighted group by all
),
wages as (
    select c.commune_code, f.year,
        case when w.hourly_wage_eur is not null then 'commune'
             when d.hourly_wage_eur is not null then 'departement' else 'france' end as wage_basis,
        round(coalesce(w.hourly_wage_eur, d.hourly_wage_eur, f.hourly_wage_eur), 6) as mean_net_hourly_wage_eur
    from communes as c
    cross join france as f
    left join departements as d on d.departement_code = c.departement_code and d.year = f.year
    left join published as w on w.commune_code = c.commune_code and w.year = f.year
)
select *, {{ var('wage_paid_hours_per_year') }} as paid_hours_per_year,
    mean_net_hourly_wage_eur * {{ var('wage_paid_hours_per_year') }} as annual_net_wage_eur
from wages
where mean_net_hourly_wage_eur is not null
