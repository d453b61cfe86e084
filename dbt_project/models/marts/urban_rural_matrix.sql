-- The commune-level ledger summed between classes of territory: the INSEE density grid collapsed
-- to urban (levels 1-2), intermediate (3-4) and rural (5-7), and the AAV 2020 categories
-- collapsed to pole (11, 12, 13), crown (20) and outside any aire (30). Places abroad are 'abroad';
-- communes without a class, 'unclassified'. Only wage income starts abroad (jobs abroad).
with classes as (
    select code,
        case when density_class_7 in (1, 2) then 'urban' when density_class_7 in (3, 4) then 'intermediate'
             when density_class_7 in (5, 6, 7) then 'rural' else 'unclassified' end as density_class,
        case when aav_category in (11, 12, 13) then 'pole' when aav_category = 20 then 'crown'
             when aav_category = 30 then 'outside_aav' else 'unclassified' end as aav_class
    from {{ ref('territories') }}
    where level = 'commune'
),
flows as (
    select f.*,
        coalesce(co.density_class, 'abroad') as origin_density, coalesce(cd.density_class, 'abroad') as destination_density,
        coalesce(co.aav_class, 'abroad') as origin_aav, coalesce(cd.aav_class, 'abroad') as destination_aav
    from {{ ref('material_flows') }} as f
    left join classes as co on co.code = f.origin_code
    left join classes as cd on cd.code = f.destination_code
    where f.level = 'commune'
),
-- one pass over the ledger by both classifications, then each classification rolled up from it
by_both as (
    select flow_kind, year, unit, origin_density, destination_density, origin_aav, destination_aav,
        sum({{ fixed_point('value') }}) as value, bool_and(value_status = 'complete') as complete
    from flows group by all
)
select 'density_grid' as classification, origin_density as origin_class, destination_density as destination_class,
    flow_kind, year, cast(sum(value) as double) as value, unit,
    case when bool_and(complete) then 'complete' else 'lower_bound' end as value_status
from by_both group by all
union all
select 'aav2020', origin_aav, destination_aav, flow_kind, year, cast(sum(value) as double), unit,
    case when bool_and(complete) then 'complete' else 'lower_bound' end
from by_both group by all
