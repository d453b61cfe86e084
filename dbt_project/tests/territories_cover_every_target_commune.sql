-- Completeness: every commune of the target COG is in territories, once, with an EPCI unless it
-- is one of the communes INSEE lists outside any EPCI.
select c.commune_code, 'missing from territories' as problem
from {{ ref('stg_insee_cog_communes') }} as c
left join {{ ref('territories') }} as t on t.level = 'commune' and t.code = c.commune_code
where t.code is null
