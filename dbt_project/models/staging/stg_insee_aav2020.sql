select
    'insee_aav2020' as source_id, vintage, geography, source_file, source_row,
    {{ commune_code('commune_code') }} as commune_code,
    trim(aav_code) as aav_code,
    aav_name,
    try_cast(aav_category as integer) as aav_category,
    {{ duplicate_key_or("case when try_cast(aav_category as integer) not in (11, 12, 13, 20, 30)
         then 'CATEAAV2020 is not 11, 12, 13, 20 or 30: ' || coalesce(aav_category, 'null') end") }} as quarantine_reason
from {{ source('raw', 'insee_aav2020') }}
where vintage = (select max(vintage) from {{ source('raw', 'insee_aav2020') }})
