-- Custom groups of communes (FLOWS_GROUPS), codes in the target geography.
select
    'custom_groups' as source_id, {{ var('target_cog') }} as vintage, {{ var('target_cog') }} as geography,
    source_file, source_row,
    trim(group_id) as group_id,
    trim(group_name) as group_name,
    {{ fold_arrondissement(commune_code('commune_code')) }} as commune_code,
    case when nullif(trim(group_id), '') is null then 'empty group_id' end as quarantine_reason
from {{ source('raw', 'custom_groups') }}
