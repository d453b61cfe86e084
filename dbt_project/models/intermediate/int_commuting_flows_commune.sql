-- Commune-to-commune flows per census year in the target geography. Workplaces abroad keep
-- their producer code (e.g. MO001).
select
    year,
    residence_code_target as residence_code,
    workplace_code_target as workplace_code,
    not {{ is_commune_code('workplace_code_target') }} as destination_abroad,
    {{ exact_sum('workers * allocation_ratio') }} as workers,
    bool_or(split_allocated) as split_allocated
from {{ ref('int_mobpro_flux_rebased') }}
where quarantine_reason is null and workers is not null
group by all
