select upper(trim(departement_code)) as departement_code, trim(region_code) as region_code, departement_name
from {{ source('raw', 'insee_cog_departements') }}
where vintage = (select max(vintage) from {{ source('raw', 'insee_cog_departements') }})
