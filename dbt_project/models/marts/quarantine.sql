-- Rows set aside, with the reason, the source file's row and the source vintage. Not published
-- as data; its counts per source and reason go into the release manifest.
{%- for name, measure, unit in set_aside_ledgers() %}
select source_id, vintage, source_file, source_row, quarantine_reason
from {{ ref('int_' ~ name ~ '_rebased') }}
where quarantine_reason is not null
{% if not loop.last %}union all{% endif %}
{%- endfor %}
order by source_id, vintage, source_row
