-- One row per territory and year: commuting totals and ratios from the census flows, census and
-- URSSAF jobs, Cerema land take (ha), ORE energy consumption and ODRE production (MWh), Agreste
-- farmland and the farmland the population needs (ha), the wage income of commuters (euros,
-- modelled) and the shares of it that cross the territory's boundary.
with measures as (
    select level, commune_code as code, year,
    {%- for m in additive_indicators() %}
        sum(value) filter (where indicator = '{{ m.name }}') as {{ m.name }}{% if not loop.last %},{% endif %}
    {%- endfor %}
    from {{ ref('int_measures_levels') }}
    group by all
),
flows as (
    select level, code, year,
        employed_residents as employed_residents_workers,
        jobs_filled as jobs_filled_workers,
        internal as internal_workers,
        totals_source as workers_totals_source
    from {{ ref('int_flow_totals') }}
),
territories as (
    select level, code from {{ ref('territories') }}
)
select
    t.level, t.code, y.year,
    round(f.employed_residents_workers, 6) as employed_residents_workers,
    round(f.jobs_filled_workers, 6) as jobs_filled_workers,
    round(f.internal_workers, 6) as internal_workers,
    f.workers_totals_source,
    round(100.0 * f.internal_workers / nullif(f.employed_residents_workers, 0), 4) as self_containment_pct,
    round(100.0 * f.jobs_filled_workers / nullif(f.employed_residents_workers, 0), 4) as job_concentration_pct,
    {%- for i in additive_indicators() %}
    round(m.{{ i.name }}, 6) as {{ i.name }},
    {%- endfor %}
    round(e.balance_mwh, 6) as electricity_balance_mwh,
    round(100.0 * e.production_mwh / nullif(e.consumption_mwh, 0), 4) as electricity_autonomy_pct,
    round(food.productive_area_ha, 6) as productive_agricultural_area_ha,
    food.food_land_per_inhabitant_ha,
    round(food.food_land_need_ha, 6) as food_land_need_ha,
    round(food.food_land_balance_ha, 6) as food_land_balance_ha,
    round(100.0 * food.productive_area_ha / nullif(food.food_land_need_ha, 0), 4) as food_land_cover_pct,
    round(w.resident_wage_income_eur, 6) as resident_wage_income_eur,
    round(100.0 * coalesce(w.resident_wage_income_earned_elsewhere_eur, 0) / nullif(w.resident_wage_income_eur, 0), 4)
        as resident_wages_earned_elsewhere_pct,
    round(w.job_wage_income_eur, 6) as job_wage_income_eur,
    round(100.0 * coalesce(w.job_wage_income_paid_elsewhere_eur, 0) / nullif(w.job_wage_income_eur, 0), 4)
        as job_wages_paid_elsewhere_pct
from territories as t
join (select level, code, year from measures union select level, code, year from flows
      union select level, code, year from {{ ref('int_food_land_balance') }}
      union select level, code, year from {{ ref('int_wage_income_shares') }}) as y
    on y.level = t.level and y.code = t.code
left join flows as f on f.level = t.level and f.code = t.code and f.year = y.year
left join measures as m on m.level = t.level and m.code = t.code and m.year = y.year
left join {{ ref('int_energy_balance') }} as e on e.level = t.level and e.code = t.code and e.year = y.year
left join {{ ref('int_food_land_balance') }} as food on food.level = t.level and food.code = t.code and food.year = y.year
left join {{ ref('int_wage_income_shares') }} as w on w.level = t.level and w.code = t.code and w.year = y.year
