-- Housing land take of each commune (Cerema, destination hab) allocated to the workplaces of its
-- residents in proportion to its commuting outflows (internal and abroad included), using the
-- complete census edition nearest to the land year (every flow, internal ones included; the earlier on a
-- tie). A commune with land take but no outflows keeps its land on itself. Sums exactly to the
-- land take it came from.
with land as (
    select commune_code_target as commune_code, year, {{ exact_sum('housing_m2 * allocation_ratio / 10000.0') }} as housing_ha
    from {{ ref('int_land_take_rebased') }}
    where quarantine_reason is null and housing_m2 is not null
    group by all
),
census_for_year as (
    {{ nearest_complete_census('land') }}
),
outflows as (
    select year as census_year, residence_code, workplace_code,
        workers / sum(workers) over (partition by year, residence_code) as share
    from {{ ref('int_commuting_flows_commune') }}
    where workers > 0
)
select l.year, c.census_year, l.commune_code as origin_code,
    coalesce(o.workplace_code, l.commune_code) as destination_code,
    l.housing_ha * coalesce(o.share, 1.0) as value
from land as l
join census_for_year as c using (year)
left join outflows as o on o.census_year = c.census_year and o.residence_code = l.commune_code
