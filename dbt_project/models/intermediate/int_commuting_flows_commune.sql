-- Commune-to-commune flows per census year in the target geography. Workplaces abroad keep
-- their producer code (e.g. MO001). combines_codes: the flow sums several codes of the producer's
-- file (arrondissements folded, communes merged since, or a split allocated); in a truncated
-- edition such a sum misses the unpublished flows of its other codes: it is a lower bound.
with merged_into as (
    select distinct geography, code_to as commune_code
    from {{ ref('int_commune_passage') }}
    where code_from <> code_to
),
flows as (
    select r.*,
        r.residence_code_source <> r.residence_code_target or r.workplace_code_source <> r.workplace_code_target
            or r.split_allocated or mr.commune_code is not null or mw.commune_code is not null as combines_codes
    from {{ ref('int_mobpro_flux_rebased') }} as r
    left join merged_into as mr on mr.geography = r.geography and mr.commune_code = r.residence_code_target
    left join merged_into as mw on mw.geography = r.geography and mw.commune_code = r.workplace_code_target
    where r.quarantine_reason is null and r.workers is not null
)
select
    year,
    residence_code_target as residence_code,
    workplace_code_target as workplace_code,
    not {{ is_commune_code('workplace_code_target') }} as destination_abroad,
    {{ exact_sum('workers * allocation_ratio') }} as workers,
    bool_or(split_allocated) as split_allocated,
    bool_or(combines_codes) or count(*) > 1 as combines_codes
from flows
group by all
