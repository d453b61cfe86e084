-- One row per ordered pair of distinct territories (A, B) and census year with a commuting flow in
-- either direction: both directions of every flow, the dependency shares, the distance, and the
-- pair's land and energy terms of the same year. Row (B, A) mirrors row (A, B).
-- A direction unknown in a truncated edition is null (its status says why), and a share is
-- computed only from an exact flow over a complete total (int_flow_totals), else it is null.
with territories as (
    select level, code from {{ ref('territories') }}
),
commuters as (
    select f.level, f.year, f.origin_code, f.destination_code, f.workers, f.value_status
    from {{ ref('commuting_flows') }} as f
    join territories as ta on ta.level = f.level and ta.code = f.origin_code
    join territories as tb on tb.level = f.level and tb.code = f.destination_code
    where f.origin_code <> f.destination_code
),
-- each flow seen from both ends, grouped once: a pair with a flow either way, its two directions
both_ways as (
    select level, year, origin_code as code_a, destination_code as code_b, workers, value_status, true as a_to_b from commuters
    union all
    select level, year, destination_code, origin_code, workers, value_status, false from commuters
),
pairs as (
    select level, year, code_a, code_b,
        max(workers) filter (where a_to_b) as ab_workers, max(value_status) filter (where a_to_b) as ab_status,
        max(workers) filter (where not a_to_b) as ba_workers, max(value_status) filter (where not a_to_b) as ba_status
    from both_ways
    group by all
    having bool_or(workers > 0 or workers is null)
),
-- the land of the census years only: the pairs are per census year
land as (
    select level, year, origin_code, destination_code, value from {{ ref('int_housing_land_levels') }}
    where year in (select year from {{ ref('int_census_editions') }})
),
electricity as (
    select level, year, origin_code, destination_code, value from {{ ref('int_modelled_transfers') }}
    where flow_kind = 'electricity_transfer'
),
totals as (
    select level, code, year, employed_residents, jobs_filled, totals_source from {{ ref('int_flow_totals') }}
),
points as (
    select level, code, radians(latitude) as lat, radians(longitude) as lon from {{ ref('int_territory_centroids') }}
),
directions as (
    select p.level, p.year, p.code_a, p.code_b, e.is_complete,
        -- in a complete edition an absent direction is a true zero
        case when e.is_complete then coalesce(p.ab_workers, 0) else p.ab_workers end as a_to_b,
        case when e.is_complete then coalesce(p.ba_workers, 0) else p.ba_workers end as b_to_a,
        coalesce(p.ab_status, 'complete') as a_to_b_status,
        coalesce(p.ba_status, 'complete') as b_to_a_status
    from pairs as p
    join {{ ref('int_census_editions') }} as e using (year)
),
exact as (
    select *,
        case when a_to_b_status in ('complete', 'published') then a_to_b end as exact_a_to_b,
        case when b_to_a_status in ('complete', 'published') then b_to_a end as exact_b_to_a
    from directions
)
select
    p.level, p.year, p.code_a, p.code_b,
    round(p.a_to_b, 6) as workers_a_to_b,
    round(p.b_to_a, 6) as workers_b_to_a,
    p.a_to_b_status as workers_a_to_b_status,
    p.b_to_a_status as workers_b_to_a_status,
    round(p.a_to_b - p.b_to_a, 6) as net_workers_a_to_b,
    round(ta.employed_residents, 6) as employed_residents_a_workers,
    round(tb.employed_residents, 6) as employed_residents_b_workers,
    round(ta.jobs_filled, 6) as jobs_filled_a_workers,
    round(tb.jobs_filled, 6) as jobs_filled_b_workers,
    coalesce(ta.totals_source, tb.totals_source) as workers_totals_source,
    round(100.0 * p.exact_a_to_b / nullif(ta.employed_residents, 0), 4) as share_of_a_workers_employed_in_b_pct,
    round(100.0 * p.exact_a_to_b / nullif(tb.jobs_filled, 0), 4) as share_of_b_jobs_held_by_a_residents_pct,
    round(100.0 * p.exact_b_to_a / nullif(tb.employed_residents, 0), 4) as share_of_b_workers_employed_in_a_pct,
    round(100.0 * p.exact_b_to_a / nullif(ta.jobs_filled, 0), 4) as share_of_a_jobs_held_by_b_residents_pct,
    -- great-circle distance between the territories' points (haversine, Earth radius 6,371 km)
    round(2 * 6371.0 * asin(sqrt(
        pow(sin((pb.lat - pa.lat) / 2), 2) + cos(pa.lat) * cos(pb.lat) * pow(sin((pb.lon - pa.lon) / 2), 2)
    )), 3) as distance_km,
    round(coalesce(land_ab.value, case when land_year.year is not null then 0 end), 6) as housing_land_a_for_jobs_in_b_ha,
    round(coalesce(land_ba.value, case when land_year.year is not null then 0 end), 6) as housing_land_b_for_jobs_in_a_ha,
    round(coalesce(elec_ba.value, case when elec_year.year is not null then 0 end), 6) as electricity_from_b_surplus_to_a_mwh,
    round(coalesce(elec_ab.value, case when elec_year.year is not null then 0 end), 6) as electricity_from_a_surplus_to_b_mwh
from exact as p
left join totals as ta on ta.level = p.level and ta.year = p.year and ta.code = p.code_a
left join totals as tb on tb.level = p.level and tb.year = p.year and tb.code = p.code_b
left join points as pa on pa.level = p.level and pa.code = p.code_a
left join points as pb on pb.level = p.level and pb.code = p.code_b
left join land as land_ab on land_ab.level = p.level and land_ab.year = p.year and land_ab.origin_code = p.code_a and land_ab.destination_code = p.code_b
left join land as land_ba on land_ba.level = p.level and land_ba.year = p.year and land_ba.origin_code = p.code_b and land_ba.destination_code = p.code_a
left join electricity as elec_ab on elec_ab.level = p.level and elec_ab.year = p.year and elec_ab.origin_code = p.code_a and elec_ab.destination_code = p.code_b
left join electricity as elec_ba on elec_ba.level = p.level and elec_ba.year = p.year and elec_ba.origin_code = p.code_b and elec_ba.destination_code = p.code_a
left join (select distinct level, year from {{ ref('int_energy_balance') }}) as elec_year on elec_year.level = p.level and elec_year.year = p.year
left join (select distinct level, year from land) as land_year on land_year.level = p.level and land_year.year = p.year
