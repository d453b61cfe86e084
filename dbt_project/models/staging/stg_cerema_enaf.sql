-- Cerema land take in m2 per commune and year (latest edition only: each edition revises the past).
select
    'cerema_enaf' as source_id, vintage, year, geography, source_file, source_row,
    {{ fold_arrondissement(commune_code('commune_code')) }} as commune_code,
    {%- for c in var('land_take_columns') %}
    {{ to_number(c ~ '_m2') }} as {{ c }}_m2,
    {%- endfor %}
    {{ duplicate_key_or(numeric_problem(suffixed(var('land_take_columns'), '_m2'))) }} as quarantine_reason
from {{ source('raw', 'cerema_enaf') }}
where vintage = (select max(vintage) from {{ source('raw', 'cerema_enaf') }})
