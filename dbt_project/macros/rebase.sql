{#
  Re-base the commune codes of a staged relation to the target geography, one row in, one row per
  target code out. Adds <column>_target for each code column, allocation_ratio (the product of
  the passage ratios: multiply additive measures by it) and split_allocated (a split divided the
  row by population). A code unknown to the target reference sets quarantine_reason.
#}
{% macro rebase_rows(staged, code_columns, abroad_allowed=[]) %}
select
    s.* exclude (quarantine_reason),
    {%- for c in code_columns %}
    coalesce(p_{{ c }}.code_to, s.{{ c }}) as {{ c }}_target,
    {%- endfor %}
    {% for c in code_columns %}coalesce(p_{{ c }}.ratio, 1.0){% if not loop.last %} * {% endif %}{% endfor %} as allocation_ratio,
    ({% for c in code_columns %}p_{{ c }}.split_method is not null{% if not loop.last %} or {% endif %}{% endfor %}) as split_allocated,
    coalesce(
        s.quarantine_reason,
        {%- for c in code_columns %}
        case when c_{{ c }}.commune_code is null
             {%- if c in abroad_allowed %} and {{ is_commune_code('coalesce(p_' ~ c ~ '.code_to, s.' ~ c ~ ')') }}{% endif %}
             then 'commune code unknown to COG {{ var("target_cog") }} in {{ c }}: ' || coalesce(s.{{ c }}, 'null') end{% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as quarantine_reason
from {{ staged }} as s
{%- for c in code_columns %}
left join {{ ref('int_commune_passage') }} as p_{{ c }}
    on p_{{ c }}.geography = s.geography and p_{{ c }}.code_from = s.{{ c }}
left join {{ ref('stg_insee_cog_communes') }} as c_{{ c }}
    on c_{{ c }}.commune_code = coalesce(p_{{ c }}.code_to, s.{{ c }})
{%- endfor %}
{% endmacro %}

{#
  Sum commune-level rows into every territory level through the membership table: one macro for
  all levels (commune, EPCI, département, région, custom groups), never a model per level.
  code_columns are commune codes. At each level a commune that belongs to no territory of that
  level (outside every custom group, or in no EPCI) becomes 'outside'; a place abroad keeps its
  producer code. Rows are kept when at least one code belongs to the level. flags are booleans,
  true in the result when true for any row summed.
#}
{% macro aggregate_to_levels(relation, code_columns, measures, keys=[], flags=[]) %}
{#- At the commune level each commune is its own territory: the rows stand as they are (their
    measures rounded as the sums are), with no sum; `relation` has one row per keys and codes, which
    the levels model's unique_key test holds. The other levels are summed. #}
select
    'commune' as level,
    {%- for k in keys %}
    r.{{ k }},
    {%- endfor %}
    {%- for c in code_columns %}
    case when m_{{ c }}.commune_code is not null or not {{ is_commune_code('r.' ~ c) }} then r.{{ c }} else 'outside' end as {{ c }},
    {%- endfor %}
    {%- for f in flags %}
    r.{{ f }},
    {%- endfor %}
    {%- for m in measures %}
    cast({{ fixed_point('r.' ~ m) }} as double) as {{ m }}{% if not loop.last %},{% endif %}
    {%- endfor %}
from {{ relation }} as r
{%- for c in code_columns %}
left join (select commune_code from {{ ref('int_territory_membership') }} where level = 'commune') as m_{{ c }}
    on m_{{ c }}.commune_code = r.{{ c }}
{%- endfor %}
where {% for c in code_columns %}m_{{ c }}.commune_code is not null{% if not loop.last %} or {% endif %}{% endfor %}
union all
select
    l.level,
    {%- for k in keys %}
    r.{{ k }},
    {%- endfor %}
    {%- for c in code_columns %}
    coalesce(m_{{ c }}.territory_code, case when {{ is_commune_code('r.' ~ c) }} then 'outside' else r.{{ c }} end) as {{ c }},
    {%- endfor %}
    {%- for f in flags %}
    bool_or(r.{{ f }}) as {{ f }},
    {%- endfor %}
    {%- for m in measures %}
    {{ exact_sum("r." ~ m) }} as {{ m }}{% if not loop.last %},{% endif %}
    {%- endfor %}
from {{ relation }} as r
cross join (select distinct level from {{ ref('int_territory_membership') }} where level <> 'commune') as l
{%- for c in code_columns %}
left join {{ ref('int_territory_membership') }} as m_{{ c }}
    on m_{{ c }}.level = l.level and m_{{ c }}.commune_code = r.{{ c }}
{%- endfor %}
where {% for c in code_columns %}m_{{ c }}.territory_code is not null{% if not loop.last %} or {% endif %}{% endfor %}
group by all
{% endmacro %}

{# For a class that does not add up (density, AAV): after re-basing, keep the surviving commune's value. #}
{% macro survivor_value(column) -%}
    arg_max({{ column }}, (commune_code = commune_code_target)::int) as {{ column }}
{%- endmacro %}
