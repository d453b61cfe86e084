-- Rows set aside, with the reason, the source file's row and the source vintage. Not published
-- as data; its counts per source and reason go into the release manifest.
{% set rebased = ['mobpro_flux', 'census_employment', 'urssaf_jobs', 'land_take', 'energy_consumption',
                  'electricity_production', 'epci_membership', 'density_grid', 'aav2020', 'populations',
                  'custom_groups'] %}
{%- for name in rebased %}
select source_id, vintage, source_file, source_row, quarantine_reason
from {{ ref('int_' ~ name ~ '_rebased') }}
where quarantine_reason is not null
{% if not loop.last %}union all{% endif %}
{%- endfor %}
order by source_id, vintage, source_row
