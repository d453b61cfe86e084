-- Municipal population of each target commune (populations of merged communes are summed;
-- a split commune gets its population share).
select commune_code_target as commune_code, {{ exact_sum('municipal_population * allocation_ratio') }} as municipal_population
from {{ ref('int_populations_rebased') }}
where quarantine_reason is null
group by all
