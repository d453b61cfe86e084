-- Per territory and census year: employed residents (all outflows, abroad included), jobs
-- filled by residents of France (all inflows) and internal flows (living and working there).
with flows as (
    select * from {{ ref('int_commuting_flows_levels') }}
),
vintage_has_internal as (
    -- Older census editions omit flows inside a commune: self-containment is then unknown. Read
    -- on the producer's codes: folding arrondissements makes Paris 1er -> 15e look internal.
    select year, bool_or(residence_code_source = workplace_code_source) as has_internal
    from {{ ref('stg_mobpro_flux') }} group by all
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
