-- Census editions of the commuting base: whether each holds flows inside a commune and the
-- smallest flow it publishes between two communes. Older editions omit internal flows and flows
-- under 100 (the publication threshold): they are truncated, and sums of their flows are partial.
-- Read on the producer's codes, because folding arrondissements makes Paris 1er -> 15e internal.
with flows as (
    select year, residence_code_source, workplace_code_source, workers
    from {{ ref('int_mobpro_flux_rebased') }}
    where quarantine_reason is null and workers > 0
),
editions as (
    select year,
        bool_or(residence_code_source = workplace_code_source) as has_internal_flows,
        min(workers) filter (where residence_code_source <> workplace_code_source) as smallest_flow_workers
    from flows
    group by all
)
select year, has_internal_flows, smallest_flow_workers,
    -- a threshold of 100 (or more) shows as an edition with no flow under it
    case when smallest_flow_workers >= 100 then floor(smallest_flow_workers / 100) * 100 end as publication_threshold_workers,
    has_internal_flows and smallest_flow_workers < 100 as is_complete
from editions
