-- Wage income carried home by commuters, commune to commune, per wage year: every flow of the
-- complete census edition nearest to the wage year (macro nearest_complete_census), from the
-- workplace (origin) to the residence (destination):
--   value = commuters x annual_net_wage_eur of the residence commune (int_resident_wages)
-- The wage is that of the commuters' own commune of residence: INSEE publishes commune wages by
-- place of residence only (docs/methods.md). Internal flows and workplaces abroad are included.
with census_for_year as (
    {{ nearest_complete_census(ref('int_resident_wages')) }}
)
select w.year, c.census_year, f.workplace_code as origin_code, f.residence_code as destination_code,
    f.workers as commuters, w.wage_basis, w.annual_net_wage_eur,
    f.workers * w.annual_net_wage_eur as value
from census_for_year as c
join {{ ref('int_commuting_flows_commune') }} as f on f.year = c.census_year
join {{ ref('int_resident_wages') }} as w on w.year = c.year and w.commune_code = f.residence_code
where f.workers > 0
