-- Commune boundaries (WKB, EPSG:4326) of the latest vintage, for the distance and map products.
select
    'etalab_contours_communes' as source_id, vintage, geography, source_file, source_row,
    {{ commune_code('commune_code') }} as commune_code,
    geometry_wkb
from {{ source('raw', 'etalab_contours_communes') }}
where vintage = (select max(vintage) from {{ source('raw', 'etalab_contours_communes') }})
