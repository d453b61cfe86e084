-- One long ledger of every flow between territories, in physical units, with how it was obtained.
-- New flow kinds are new rows, not new columns.
with ledger as (
    select 'commuters' as flow_kind, level, year, residence_code as origin_code, workplace_code as destination_code,
        workers as value, 'workers' as unit, 'observed' as method, 'insee_mobpro_flux' as source_ids
    from {{ ref('int_commuting_flows_levels') }}
    union all
    select 'housing_land_for_jobs', level, year, origin_code, destination_code, value, 'ha', 'allocated',
        'cerema_enaf,insee_mobpro_flux'
    from {{ ref('int_housing_land_levels') }}
    union all
    select 'electricity_transfer', level, year, origin_code, destination_code, value, 'MWh', 'modelled',
        'odre_registre_production,ore_conso_elec_gaz'
    from {{ ref('int_electricity_transfers') }}
)
select flow_kind, level, year, origin_code, destination_code, round(value, 6) as value, unit, method, source_ids
from ledger
where level in ('commune', 'epci', 'group') and value <> 0
order by flow_kind, level, origin_code, destination_code, year
