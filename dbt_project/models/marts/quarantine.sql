-- Rows set aside, one per row of the producer's file: the source, its vintage, the file and row,
-- the reason, the commune codes the row names (as written and, where re-based, as counted) and
-- the measure it carries. Published as set_aside_rows, so that a reader of one territory's figures
-- can see what was left out of them; its counts per source and reason go into the manifest.
{%- for name, measure, unit, codes in set_aside_ledgers() %}
select source_id, vintage, source_file, source_row, any_value(quarantine_reason) as quarantine_reason,
    list_sort(list_distinct(flatten(list([
        {%- for c in codes %}{{ c }}, {{ c }}_target{{ ", " if not loop.last }}{% endfor -%}
    ])))) as commune_codes,
    {%- if measure %}
    sum(({{ measure }}) * allocation_ratio) as measure,
    '{{ unit }}' as measure_unit
    {%- else %}
    cast(null as double) as measure, cast(null as varchar) as measure_unit
    {%- endif %}
from {{ ref('int_' ~ name ~ '_rebased') }}
where quarantine_reason is not null
group by source_id, vintage, source_file, source_row
{% if not loop.last %}union all{% endif %}
{%- endfor %}
