-- Electricity production minus consumption per territory and year, where both are known.
-- Consumption counts secretised cells as missing: a lower bound.
with measures as (
    select level, commune_code as code, year,
        sum(value) filter (where indicator like 'electricity_production_%') as production_mwh,
        sum(value) filter (where indicator like 'electricity_consumption_%') as consumption_mwh
    from {{ ref('int_measures_levels') }}
    where commune_code <> 'outside'
    group by all
)
select m.level, m.code, m.year, r.region_code, m.production_mwh, m.consumption_mwh,
    m.production_mwh - m.consumption_mwh as balance_mwh
from measures as m
join {{ ref('int_territory_regions') }} as r using (level, code)
where m.production_mwh is not null and m.consumption_mwh is not null
