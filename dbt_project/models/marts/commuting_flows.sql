-- Workers living in origin_code and working in destination_code, per census year, at commune and
-- EPCI level (and custom group level), internal flows included (origin_code = destination_code).
-- In a truncated edition (flows under the publication threshold not published) the opposite
-- direction of every published flow is a row too, with workers null: unknown, not zero.
with flows as (
    select f.level, f.residence_code as origin_code, f.workplace_code as destination_code, f.year, f.workers,
        f.combines_codes, f.destination_abroad, f.split_allocated, e.is_complete, e.publication_threshold_workers
    from {{ ref('int_commuting_flows_levels') }} as f
    join {{ ref('int_census_editions') }} as e using (year)
    where f.level in ('commune', 'epci', 'group')
),
unpublished as (
    select a.level, a.destination_code as origin_code, a.origin_code as destination_code, a.year,
        cast(null as double) as workers, true as combines_codes, false as destination_abroad, false as split_allocated,
        a.is_complete, a.publication_threshold_workers
    from flows as a
    left join flows as b
        on b.level = a.level and b.year = a.year and b.origin_code = a.destination_code and b.destination_code = a.origin_code
    where not a.is_complete and a.origin_code <> a.destination_code and not a.destination_abroad and b.level is null
)
select
    level, origin_code, destination_code, year,
    round(workers, 6) as workers,
    case when is_complete then 'complete'
         when workers is null then 'below_publication_threshold'
         when level = 'commune' and not combines_codes then 'published'
         else 'lower_bound' end as value_status,
    cast(publication_threshold_workers as double) as publication_threshold_workers,
    coalesce(workers < 200, true) as small_flow_caution,
    destination_abroad,
    split_allocated
from (select * from flows union all select * from unpublished)
