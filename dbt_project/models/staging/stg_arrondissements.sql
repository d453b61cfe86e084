-- Municipal arrondissements of Paris, Lyon and Marseille with their commune, in the target geography.
select
    {{ commune_code('commune_code') }} as arrondissement_code,
    commune_name as arrondissement_name,
    {{ commune_code('parent_code') }} as commune_code
from {{ source('raw', 'insee_cog_communes') }}
where vintage = {{ var('target_cog') }} and commune_type = 'ARM'
