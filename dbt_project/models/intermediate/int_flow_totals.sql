-- Per territory and census year: employed residents (all outflows, abroad included), jobs
-- filled by residents of France (all inflows) and internal flows (living and working there).
with flows as (
    select * from {{ ref('int_commuting_flows_levels') }}
),
vintage_has_internal as (
    select year, has_internal_flows as has_internal from {{ ref('int_census_editions') }}
)
select level, code, year, {{ exact_sum("employed_residents") }} as employed_residents, {{ exact_sum("jobs_filled") }} as jobs_filled,
    case when bool_and(h.has_internal) then {{ exact_sum("internal") }} end as internal
from (
    select level, residence_code as code, year, workers as employed_residents, 0 as jobs_filled,
        case when residence_code = workplace_code then workers else 0 end as internal
    from flows
    union all
    select level, workplace_code, year, 0, workers, 0 from flows
) as t
join vintage_has_internal as h using (year)
group by all
