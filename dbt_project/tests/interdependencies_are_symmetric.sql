-- Row (A, B) mirrors row (B, A): each direction, its status, share, denominator and term appears
-- swapped; and a pair row holds a flow in at least one direction (null: unpublished).
select a.level, a.year, a.code_a, a.code_b
from {{ ref('interdependencies') }} as a
left join {{ ref('interdependencies') }} as b
    on b.level = a.level and b.year = a.year and b.code_a = a.code_b and b.code_b = a.code_a
where b.code_a is null
   or a.workers_a_to_b is distinct from b.workers_b_to_a
   or a.workers_a_to_b_status is distinct from b.workers_b_to_a_status
   or a.employed_residents_a_workers is distinct from b.employed_residents_b_workers
   or not (coalesce(a.workers_a_to_b, 0) > 0 or coalesce(a.workers_b_to_a, 0) > 0)
   or a.net_workers_a_to_b is distinct from -b.net_workers_a_to_b
   or a.share_of_a_workers_employed_in_b_pct is distinct from b.share_of_b_workers_employed_in_a_pct
   or a.share_of_b_jobs_held_by_a_residents_pct is distinct from b.share_of_a_jobs_held_by_b_residents_pct
   or a.distance_km is distinct from b.distance_km
   or a.housing_land_a_for_jobs_in_b_ha is distinct from b.housing_land_b_for_jobs_in_a_ha
   or a.electricity_from_b_surplus_to_a_mwh is distinct from b.electricity_from_a_surplus_to_b_mwh
