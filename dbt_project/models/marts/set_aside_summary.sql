-- Per source and vintage: the rows read and the rows set aside (quarantined), and the measure
-- they carry. Read from the re-based models, where one producer's row may become several target
-- rows whose allocation ratios add up to one: summing the ratios counts producer's rows. Not
-- published as data: the run prints it, the manifest keeps it, and too large a share set aside
-- blocks publication (FLOWS_MAX_QUARANTINE_SHARE).
{%- for name, measure, unit, codes in set_aside_ledgers() %}
select
    source_id, vintage,
    round(sum(allocation_ratio))::bigint as rows_read,
    round(coalesce(sum(allocation_ratio) filter (where quarantine_reason is not null), 0))::bigint as rows_set_aside,
    {%- if measure %}
    '{{ unit }}' as measure_unit,
    {{ exact_sum('abs(' ~ measure ~ ') * allocation_ratio') }} as measure_read,
    coalesce({{ exact_sum('case when quarantine_reason is not null then abs(' ~ measure ~ ') * allocation_ratio end') }}, 0) as measure_set_aside
    {%- else %}
    cast(null as varchar) as measure_unit, cast(null as double) as measure_read, cast(null as double) as measure_set_aside
    {%- endif %}
from {{ ref('int_' ~ name ~ '_rebased') }}
group by all
{% if not loop.last %}union all{% endif %}
{%- endfor %}
