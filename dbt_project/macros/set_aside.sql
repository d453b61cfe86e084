{#
  The re-based models whose rows can be set aside (quarantine_reason), each with the measure its
  rows carry and the measure's unit (none for reference tables). One list for the quarantine and
  for the set-aside summary that can block publication.
#}
{% macro set_aside_ledgers() -%}
    {% set energy = [] %}
    {% for s in ['agriculture', 'industry', 'tertiary', 'residential', 'unknown_sector'] %}
        {% do energy.append('coalesce(' ~ s ~ '_mwh, 0)') %}
    {% endfor %}
    {{ return([
        ('mobpro_flux', 'workers', 'workers'),
        ('census_employment', 'census_employed_residents', 'employed residents'),
        ('urssaf_jobs', 'private_salaried_jobs', 'jobs'),
        ('land_take', 'total_m2', 'm2'),
        ('energy_consumption', energy | join(' + '), 'MWh'),
        ('electricity_production', 'produced_mwh', 'MWh'),
        ('epci_membership', none, none),
        ('density_grid', none, none),
        ('aav2020', none, none),
        ('populations', 'municipal_population', 'inhabitants'),
        ('custom_groups', none, none),
    ]) }}
{%- endmacro %}
