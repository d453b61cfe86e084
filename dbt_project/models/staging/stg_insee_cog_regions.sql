select trim(region_code) as region_code, region_name
from {{ source('raw', 'insee_cog_regions') }}
where vintage = (select max(vintage) from {{ source('raw', 'insee_cog_regions') }})
