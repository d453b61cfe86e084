{# The additive indicators declared in dbt_project.yml (var `indicators`), one dict each (name,
   model, value, where), `for_each` entries expanded over their category list. #}
{% macro additive_indicators() -%}
    {% set expanded = [] %}
    {% for entry in var('indicators') %}
        {% for x in (var(entry.for_each) if entry.for_each else [none]) %}
            {% do expanded.append({
                'name': entry.name | replace('{x}', x or ''),
                'model': entry.model,
                'value': entry.value | replace('{x}', x or ''),
                'where': (entry.where or 'true') | replace('{x}', x or ''),
            }) %}
        {% endfor %}
    {% endfor %}
    {{ return(expanded) }}
{%- endmacro %}

{# `names` each followed by `suffix`: the columns of a category list, e.g. agriculture_mwh. #}
{% macro suffixed(names, suffix) -%}
    {% set columns = [] %}
    {% for n in names %}{% do columns.append(n ~ suffix) %}{% endfor %}
    {{ return(columns) }}
{%- endmacro %}
