select
    'insee_grille_densite' as source_id, vintage, geography, source_file, source_row,
    {{ commune_code('commune_code') }} as commune_code,
    try_cast(density_class_3 as integer) as density_class_3,
    try_cast(density_class_7 as integer) as density_class_7,
    density_label_7,
    {{ duplicate_key_or("case when try_cast(density_class_7 as integer) not between 1 and 7
         then 'DENS7 is not a class from 1 to 7: ' || coalesce(density_class_7, 'null') end") }} as quarantine_reason
from {{ source('raw', 'insee_grille_densite') }}
where vintage = (select max(vintage) from {{ source('raw', 'insee_grille_densite') }})
