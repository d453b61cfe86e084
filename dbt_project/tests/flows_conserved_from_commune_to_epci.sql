-- Every worker whose commune of residence belongs to an EPCI is counted once at EPCI level.
with commune_total as (
    select f.year, sum(f.workers) as workers
    from {{ ref('commuting_flows') }} as f
    join {{ ref('int_territory_membership') }} as m on m.level = 'epci' and m.commune_code = f.origin_code
    where f.level = 'commune'
    group by all
),
epci_total as (
    select year, sum(workers) as workers from {{ ref('commuting_flows') }}
    where level = 'epci' and origin_code <> 'outside' group by all
)
select c.year, c.workers as commune_workers, e.workers as epci_workers
from commune_total as c
full join epci_total as e using (year)
where abs(coalesce(c.workers, 0) - coalesce(e.workers, 0)) > 1e-6 * greatest(1, abs(c.workers))
