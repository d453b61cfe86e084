-- Census key figures (base-cc: employed residents and jobs at the place of work) per territory of
-- every level and census year: the complete totals for editions of the commuting base that are not.
with communes as (
    select commune_code_target as commune_code, year,
        {{ exact_sum('census_employed_residents * allocation_ratio') }} as employed_residents,
        {{ exact_sum('census_jobs * allocation_ratio') }} as jobs_filled
    from {{ ref('int_census_employment_rebased') }}
    where quarantine_reason is null
    group by all
)
{{ aggregate_to_levels('communes', ['commune_code'], ['employed_residents', 'jobs_filled'], ['year']) }}
