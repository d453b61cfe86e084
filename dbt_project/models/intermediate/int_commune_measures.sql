-- Every additive commune-level measure in one long table (commune_code, year, indicator, value),
-- summed in the target geography, so that one aggregation serves every level. The indicators are
-- declared once, in dbt_project.yml (var `indicators`).
with measures as (
    {%- for m in additive_indicators() %}
    select commune_code_target as commune_code, year, '{{ m.name }}' as indicator, {{ m.value }} as value
    from {{ ref(m.model) }} where quarantine_reason is null and {{ m.where }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)
select commune_code, year, indicator, {{ exact_sum('value') }} as value
from measures
where value is not null
group by all
