-- A point per territory for distances: the commune centroid, or for other levels the
-- population-weighted mean of its communes' centroids (degrees, EPSG:4326).
select m.level, m.territory_code as code,
    sum(c.longitude * coalesce(p.municipal_population, 1)) / sum(coalesce(p.municipal_population, 1)) as longitude,
    sum(c.latitude * coalesce(p.municipal_population, 1)) / sum(coalesce(p.municipal_population, 1)) as latitude
from {{ ref('int_territory_membership') }} as m
join {{ source('raw', 'commune_centroids') }} as c using (commune_code)
left join {{ ref('int_commune_population') }} as p using (commune_code)
group by all
