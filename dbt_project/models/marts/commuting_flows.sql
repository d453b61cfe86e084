-- Workers living in origin_code and working in destination_code, per census year, at commune and
-- EPCI level (and custom group level), internal flows included (origin_code = destination_code).
select
    level,
    residence_code as origin_code,
    workplace_code as destination_code,
    year,
    round(workers, 6) as workers,
    destination_abroad,
    split_allocated
from {{ ref('int_commuting_flows_levels') }}
where level in ('commune', 'epci', 'group')
order by level, origin_code, destination_code, year
