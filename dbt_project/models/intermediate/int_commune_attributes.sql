-- Density class and AAV of each target commune. When communes merged since the reference's year,
-- the surviving commune's class is kept (classes do not add up).
with density as (
    select commune_code_target as commune_code,
        {{ survivor_value('density_class_3') }}, {{ survivor_value('density_class_7') }}, {{ survivor_value('density_label_7') }}
    from {{ ref('int_density_grid_rebased') }}
    where quarantine_reason is null
    group by all
),
aav as (
    select commune_code_target as commune_code,
        {{ survivor_value('aav_code') }}, {{ survivor_value('aav_name') }}, {{ survivor_value('aav_category') }}
    from {{ ref('int_aav2020_rebased') }}
    where quarantine_reason is null
    group by all
)
select c.commune_code, d.density_class_3, d.density_class_7, d.density_label_7, a.aav_code, a.aav_name, a.aav_category
from {{ ref('stg_insee_cog_communes') }} as c
left join density as d using (commune_code)
left join aav as a using (commune_code)
