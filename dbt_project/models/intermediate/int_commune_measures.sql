-- Every additive commune-level measure in one long table (commune_code, year, indicator, value),
-- summed in the target geography, so that one aggregation serves every level.
with measures as (
    select commune_code_target as commune_code, year, 'census_jobs' as indicator, census_jobs * allocation_ratio as value
    from {{ ref('int_census_employment_rebased') }} where quarantine_reason is null
    union all
    select commune_code_target, year, 'census_employed_residents', census_employed_residents * allocation_ratio
    from {{ ref('int_census_employment_rebased') }} where quarantine_reason is null
    union all
    select commune_code_target, year, 'private_salaried_jobs', private_salaried_jobs * allocation_ratio
    from {{ ref('int_urssaf_jobs_rebased') }} where quarantine_reason is null
    {%- for use in ['total', 'activity', 'housing', 'mixed', 'road', 'rail', 'unknown'] %}
    union all
    select commune_code_target, year, 'land_take_{{ use }}_ha', {{ use }}_m2 / 10000.0 * allocation_ratio
    from {{ ref('int_land_take_rebased') }} where quarantine_reason is null
    {%- endfor %}
    {%- for sector in ['agriculture', 'industry', 'tertiary', 'residential', 'unknown_sector'] %}
    union all
    select commune_code_target, year, energy || '_consumption_{{ sector }}_mwh', {{ sector }}_mwh * allocation_ratio
    from {{ ref('int_energy_consumption_rebased') }} where quarantine_reason is null
    {%- endfor %}
    union all
    select commune_code_target, year, 'energy_secretised_cells', secretised_cells
    from {{ ref('int_energy_consumption_rebased') }} where quarantine_reason is null
    union all
    select commune_code_target, year, 'electricity_production_' || production_type || '_mwh', produced_mwh * allocation_ratio
    from {{ ref('int_electricity_production_rebased') }} where quarantine_reason is null
)
select commune_code, year, indicator, {{ exact_sum('value') }} as value
from measures
where value is not null
group by all
