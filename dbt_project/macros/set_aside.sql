{#
  The re-based models whose rows can be set aside (quarantine_reason), each with the measure its
  rows carry, the measure's unit (none for reference tables) and the commune code columns of its
  rows (each has a `_target` twin after re-basing). One list for the quarantine and for the
  set-aside summary that can block publication.
#}
{% macro set_aside_ledgers() -%}
    {% set energy = [] %}
    {% for s in var('energy_sectors') %}
        {% do energy.append('coalesce(' ~ s ~ '_mwh, 0)') %}
    {% endfor %}
    {{ return([
        ('mobpro_flux', 'workers', 'workers', ['residence_code', 'workplace_code']),
        ('census_employment', 'census_employed_residents', 'employed residents', ['commune_code']),
        ('urssaf_jobs', 'private_salaried_jobs', 'jobs', ['commune_code']),
        ('land_take', 'total_m2', 'm2', ['commune_code']),
        ('energy_consumption', energy | join(' + '), 'MWh', ['commune_code']),
        ('electricity_production', 'produced_mwh', 'MWh', ['commune_code']),
        ('epci_membership', none, none, ['commune_code']),
        ('density_grid', none, none, ['commune_code']),
        ('aav2020', none, none, ['commune_code']),
        ('populations', 'municipal_population', 'inhabitants', ['commune_code']),
        ('custom_groups', none, none, ['commune_code']),
    ]) }}
{%- endmacro %}
