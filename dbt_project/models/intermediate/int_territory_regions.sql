-- The région of every territory: its own for communes, départements and régions; for an EPCI or
-- a custom group, the région where most of its population lives (a few EPCI cross a border).
select m.level, m.territory_code as code,
    arg_max(c.region_code, coalesce(p.municipal_population, 0)) as region_code
from {{ ref('int_territory_membership') }} as m
join {{ ref('stg_insee_cog_communes') }} as c using (commune_code)
left join {{ ref('int_commune_population') }} as p using (commune_code)
group by all
