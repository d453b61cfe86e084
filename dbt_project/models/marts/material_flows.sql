-- One long ledger of every flow between territories, in physical units, with how it was obtained.
-- New flow kinds are new rows, not new columns. A commuting direction that a truncated census
-- edition does not publish is a row with value null and its status, never a zero.
with modelled_kinds as (
    select * from (values
        ('electricity_transfer', 'MWh', 'odre_registre_production,ore_conso_elec_gaz'),
        ('food_land', 'ha', 'agreste_recensement_agricole,insee_populations_legales')
    ) as k (flow_kind, unit, source_ids)
),
ledger as (
    select 'commuters' as flow_kind, level, year, origin_code, destination_code,
        workers as value, 'workers' as unit, 'observed' as method, value_status, 'insee_mobpro_flux' as source_ids
    from {{ ref('commuting_flows') }}
    union all
    select 'housing_land_for_jobs', level, year, origin_code, destination_code, value, 'ha', 'allocated', 'complete',
        'cerema_enaf,insee_mobpro_flux'
    from {{ ref('int_housing_land_levels') }}
    union all
    select 'wage_income', level, year, origin_code, destination_code, value, 'EUR', 'modelled', 'complete',
        'insee_salaires_commune,insee_mobpro_flux'
    from {{ ref('int_wage_income_levels') }}
    union all
    select t.flow_kind, t.level, t.year, t.origin_code, t.destination_code, t.value, k.unit, 'modelled', 'complete',
        k.source_ids
    from {{ ref('int_modelled_transfers') }} as t
    join modelled_kinds as k using (flow_kind)
)
select flow_kind, level, year, origin_code, destination_code, round(value, 6) as value, unit, method, value_status,
    source_ids
from ledger
where level in ('commune', 'epci', 'group') and (value <> 0 or value is null)
