{#
  The re-based models whose rows can be set aside (quarantine_reason), each with the measure its
  rows carry, the measure's unit (none for reference tables) and the commune code columns of its
  rows (each has a `_target` twin after re-basing). One list for the quarantine and for the
  set-aside summary that can block publication. A model that calls rebase_rows and is missing
  here stops the build (its rows set aside would go uncounted).
#}
{% macro set_aside_ledgers() -%}
    {% set energy = [] %}
    {% for s in var('energy_sectors') %}
        {% do energy.append('coalesce(' ~ s ~ '_mwh, 0)') %}
    {% endfor %}
    {% set ledgers = [
        ('mobpro_flux', 'workers', 'workers', ['residence_code', 'workplace_code']),
        ('census_employment', 'census_employed_residents', 'employed residents', ['commune_code']),
        ('urssaf_jobs', 'private_salaried_jobs', 'jobs', ['commune_code']),
        ('land_take', 'total_m2', 'm2', ['commune_code']),
        ('energy_consumption', energy | join(' + '), 'MWh', ['commune_code']),
        ('electricity_production', 'produced_mwh', 'MWh', ['commune_code']),
        ('agricultural_area', 'area_ha', 'ha', ['commune_code']),
        ('net_wages', none, none, ['commune_code']),
        ('epci_membership', none, none, ['commune_code']),
        ('density_grid', none, none, ['commune_code']),
        ('aav2020', none, none, ['commune_code']),
        ('populations', 'municipal_population', 'inhabitants', ['commune_code']),
        ('custom_groups', none, none, ['commune_code']),
    ] %}
    {% if execute %}
        {% set listed = ledgers | map(attribute=0) | list %}
        {% for node in graph.nodes.values() if node.resource_type == 'model' and 'rebase_rows(' in node.raw_code %}
            {% if node.name[4:-8] not in listed %}
                {{ exceptions.raise_compiler_error(node.name ~ " re-bases a source but is not among set_aside_ledgers() in macros/set_aside.sql") }}
            {% endif %}
        {% endfor %}
    {% endif %}
    {{ return(ledgers) }}
{%- endmacro %}
