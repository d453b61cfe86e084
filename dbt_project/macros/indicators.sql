{# The additive indicators of territory_indicators, in column order: each is summed from
   int_commune_measures (indicator = the column name). #}
{% macro additive_indicators() -%}
    {% set names = ['census_jobs', 'census_employed_residents', 'private_salaried_jobs'] %}
    {% for use in ['total', 'activity', 'housing', 'mixed', 'road', 'rail', 'unknown'] %}
        {% do names.append('land_take_' ~ use ~ '_ha') %}
    {% endfor %}
    {% for energy in ['electricity', 'gas'] %}
        {% for sector in ['agriculture', 'industry', 'tertiary', 'residential', 'unknown_sector'] %}
            {% do names.append(energy ~ '_consumption_' ~ sector ~ '_mwh') %}
        {% endfor %}
    {% endfor %}
    {% do names.append('energy_secretised_cells') %}
    {% for kind in ['solar', 'wind', 'hydro', 'bioenergy', 'thermal', 'other'] %}
        {% do names.append('electricity_production_' ~ kind ~ '_mwh') %}
    {% endfor %}
    {{ return(names) }}
{%- endmacro %}
