-- Custom groups of communes (FLOWS_GROUPS). A code of the target geography is taken as it is; any
-- other code is re-based through the whole change history (geography 0: any past vintage), so a
-- commune listed under a code that has since merged counts for its successor.
with coded as (
    select *, {{ fold_arrondissement(commune_code('commune_code')) }} as code
    from {{ source('raw', 'custom_groups') }}
)
select
    'custom_groups' as source_id, {{ var('target_cog') }} as vintage,
    case when code in (select commune_code from {{ ref('stg_insee_cog_communes') }}) then {{ var('target_cog') }} else 0 end as geography,
    source_file, source_row,
    trim(group_id) as group_id,
    trim(group_name) as group_name,
    code as commune_code,
    case when nullif(trim(group_id), '') is null then 'empty group_id' end as quarantine_reason
from coded
