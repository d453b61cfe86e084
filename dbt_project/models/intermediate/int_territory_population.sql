-- Municipal population of every territory of every level: the sum of its communes' (the latest
-- legal population, int_commune_population).
select m.level, m.territory_code as code, {{ exact_sum('p.municipal_population') }} as population
from {{ ref('int_territory_membership') }} as m
left join {{ ref('int_commune_population') }} as p using (commune_code)
group by all
