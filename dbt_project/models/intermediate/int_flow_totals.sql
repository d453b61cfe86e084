-- Per territory and census year: employed residents, jobs filled by residents of France and
-- internal flows (living and working there): the denominators of every commuting share.
-- A complete edition gives them as sums of its flows (outflows, abroad included; inflows). A
-- truncated edition's sums are partial: the census key figures of the same census (base-cc:
-- P{yy}_ACTOCC15P and P{yy}_EMPLT) are used instead, and without them the totals are null.
-- totals_source says which.
with flows as (
    select * from {{ ref('int_commuting_flows_levels') }}
),
flow_sums as (
    select level, code, year, {{ exact_sum("employed_residents") }} as employed_residents,
        {{ exact_sum("jobs_filled") }} as jobs_filled, {{ exact_sum("internal") }} as internal
    from (
        select level, residence_code as code, year, workers as employed_residents, 0 as jobs_filled,
            case when residence_code = workplace_code then workers else 0 end as internal
        from flows
        union all
        select level, workplace_code, year, 0, workers, 0 from flows
    )
    group by all
),
census_key_figures as (
    select level, commune_code as code, year, employed_residents, jobs_filled
    from {{ ref('int_census_key_figures_levels') }}
),
territory_years as (
    select level, code, year from flow_sums
    union
    select level, code, year from census_key_figures where year in (select year from {{ ref('int_census_editions') }})
)
select t.level, t.code, t.year,
    case when e.is_complete then f.employed_residents else c.employed_residents end as employed_residents,
    case when e.is_complete then f.jobs_filled else c.jobs_filled end as jobs_filled,
    case when e.is_complete then f.internal end as internal,
    case when e.is_complete then 'insee_mobpro_flux'
         when c.employed_residents is not null or c.jobs_filled is not null then 'insee_emploi_pop_active' end as totals_source
from territory_years as t
join {{ ref('int_census_editions') }} as e using (year)
left join flow_sums as f using (level, code, year)
left join census_key_figures as c using (level, code, year)
