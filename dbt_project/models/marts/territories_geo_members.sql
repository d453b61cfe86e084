-- Every territory with the boundaries of its member communes; the publish step dissolves them
-- into one simplified geometry per territory (territories_geo.parquet, GeoParquet).
select t.level, t.code, t.name, t.population, m.commune_code, g.geometry_wkb
from {{ ref('territories') }} as t
join {{ ref('int_territory_membership') }} as m on m.level = t.level and m.territory_code = t.code
join {{ ref('stg_etalab_contours_communes') }} as g using (commune_code)
where g.geometry_wkb is not null
