-- Home-to-work flows, every census vintage; arrondissements folded, workers as a decimal.
select
    'insee_mobpro_flux' as source_id, vintage, vintage as year, geography, source_file, source_row,
    {{ fold_arrondissement(commune_code('residence_code')) }} as residence_code,
    {{ fold_arrondissement(commune_code('workplace_code')) }} as workplace_code,
    {{ commune_code('residence_code') }} as residence_code_source,
    {{ commune_code('workplace_code') }} as workplace_code_source,
    {{ to_number('workers') }} as workers,
    {{ duplicate_key_or(numeric_problem(['workers'])) }} as quarantine_reason
from {{ source('raw', 'insee_mobpro_flux') }}
