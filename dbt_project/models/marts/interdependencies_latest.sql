-- One row per ordered pair of distinct territories (A, B) linked by any flow: each flow kind at the
-- latest year its source covers (census year for commuters, land year, energy year, agricultural
-- census year, wage year), side by side,
-- so that no flow kind drops out of the pair view because the sources' years differ.
with latest as (
    select * from {{ ref('int_latest_years') }}
),
ledger as (
    select f.flow_kind, f.level, f.origin_code, f.destination_code, f.value, f.value_status
    from {{ ref('material_flows') }} as f
    join latest as l on l.level = f.level
        and f.year = case f.flow_kind when 'commuters' then l.commuters_year
                                      when 'housing_land_for_jobs' then l.housing_land_year
                                      when 'electricity_transfer' then l.electricity_year
                                      when 'food_land' then l.food_land_year
                                      when 'wage_income' then l.wage_year end
    where f.origin_code <> f.destination_code
),
territories as (
    select level, code from {{ ref('territories') }}
),
-- every pair of territories once, unordered (lo < hi), with its land, electricity, food-land and wage terms in both
-- directions, from the flows of the ledger and the pairs of the commuting table (which holds both
-- orders) grouped in one pass; then each pair in its two orders. Half the groups of grouping the
-- ordered pairs: the grouping fits a 2 GB memory limit at national scale.
unordered as (
    select level, least(origin_code, destination_code) as code_lo, greatest(origin_code, destination_code) as code_hi,
        flow_kind, value, origin_code < destination_code as lo_to_hi
    from ledger
    union all
    select level, code_a, code_b, null, null, null from {{ ref('interdependencies') }} where code_a < code_b
),
unordered_terms as (
    select level, code_lo, code_hi,
        max(value) filter (where flow_kind = 'housing_land_for_jobs' and lo_to_hi) as land_lo_hi,
        max(value) filter (where flow_kind = 'housing_land_for_jobs' and not lo_to_hi) as land_hi_lo,
        max(value) filter (where flow_kind = 'electricity_transfer' and lo_to_hi) as elec_lo_hi,
        max(value) filter (where flow_kind = 'electricity_transfer' and not lo_to_hi) as elec_hi_lo,
        max(value) filter (where flow_kind = 'food_land' and lo_to_hi) as food_lo_hi,
        max(value) filter (where flow_kind = 'food_land' and not lo_to_hi) as food_hi_lo,
        max(value) filter (where flow_kind = 'wage_income' and lo_to_hi) as wage_lo_hi,
        max(value) filter (where flow_kind = 'wage_income' and not lo_to_hi) as wage_hi_lo
    from unordered
    group by all
),
pair_terms as (
    select level,
        case when flip then code_hi else code_lo end as code_a,
        case when flip then code_lo else code_hi end as code_b,
        case when flip then land_hi_lo else land_lo_hi end as land_ab,
        case when flip then land_lo_hi else land_hi_lo end as land_ba,
        case when flip then elec_hi_lo else elec_lo_hi end as elec_ab,
        case when flip then elec_lo_hi else elec_hi_lo end as elec_ba,
        case when flip then food_hi_lo else food_lo_hi end as food_ab,
        case when flip then food_lo_hi else food_hi_lo end as food_ba,
        case when flip then wage_hi_lo else wage_lo_hi end as wage_ab,
        case when flip then wage_lo_hi else wage_hi_lo end as wage_ba
    from unordered_terms
    cross join (values (false), (true)) as orientation(flip)
),
known_pairs as (
    select p.* from pair_terms as p
    semi join territories as ta on ta.level = p.level and ta.code = p.code_a
    semi join territories as tb on tb.level = p.level and tb.code = p.code_b
),
commuters as (
    select i.* from {{ ref('interdependencies') }} as i
    join latest as l on l.level = i.level and i.year = l.commuters_year
),
edition as (
    select e.is_complete, e.publication_threshold_workers from {{ ref('int_census_editions') }} as e
    where e.year = (select max(year) from {{ ref('int_census_editions') }})
)
select
    p.level, p.code_a, p.code_b,
    l.commuters_year,
    -- a pair with no flow in the latest edition: zero when it is complete, unknown when truncated
    case when c.code_a is not null then c.workers_a_to_b when e.is_complete then 0 end as workers_a_to_b,
    case when c.code_a is not null then c.workers_b_to_a when e.is_complete then 0 end as workers_b_to_a,
    coalesce(c.workers_a_to_b_status, case when e.is_complete then 'complete' else 'below_publication_threshold' end) as workers_a_to_b_status,
    coalesce(c.workers_b_to_a_status, case when e.is_complete then 'complete' else 'below_publication_threshold' end) as workers_b_to_a_status,
    c.share_of_a_workers_employed_in_b_pct,
    c.share_of_b_workers_employed_in_a_pct,
    l.housing_land_year,
    case when l.housing_land_year is not null then round(coalesce(p.land_ab, 0), 6) end as housing_land_a_for_jobs_in_b_ha,
    case when l.housing_land_year is not null then round(coalesce(p.land_ba, 0), 6) end as housing_land_b_for_jobs_in_a_ha,
    l.electricity_year,
    case when l.electricity_year is not null then round(coalesce(p.elec_ab, 0), 6) end as electricity_from_a_surplus_to_b_mwh,
    case when l.electricity_year is not null then round(coalesce(p.elec_ba, 0), 6) end as electricity_from_b_surplus_to_a_mwh,
    l.food_land_year,
    case when l.food_land_year is not null then round(coalesce(p.food_ab, 0), 6) end as food_land_from_a_surplus_to_b_ha,
    case when l.food_land_year is not null then round(coalesce(p.food_ba, 0), 6) end as food_land_from_b_surplus_to_a_ha,
    l.wage_year,
    case when l.wage_year is not null then round(coalesce(p.wage_ab, 0), 6) end as wages_paid_in_a_to_b_residents_eur,
    case when l.wage_year is not null then round(coalesce(p.wage_ba, 0), 6) end as wages_paid_in_b_to_a_residents_eur
from known_pairs as p
join latest as l using (level)
cross join edition as e
left join commuters as c on c.level = p.level and c.code_a = p.code_a and c.code_b = p.code_b
