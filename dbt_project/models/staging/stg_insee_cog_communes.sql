-- Communes of the target geography (COG vintage var('target_cog')): the reference every source is re-based to.
select
    {{ commune_code('commune_code') }} as commune_code,
    commune_name,
    upper(trim(departement_code)) as departement_code,
    trim(region_code) as region_code
from {{ source('raw', 'insee_cog_communes') }}
where vintage = {{ var('target_cog') }} and commune_type = 'COM'
