-- Cerema land take in m2 per commune and year (latest edition only: each edition revises the past).
select
    'cerema_enaf' as source_id, vintage, year, geography, source_file, source_row,
    {{ fold_arrondissement(commune_code('commune_code')) }} as commune_code,
    {%- for c in ['total', 'activity', 'housing', 'mixed', 'road', 'rail', 'unknown'] %}
    {{ to_number(c ~ '_m2') }} as {{ c }}_m2,
    {%- endfor %}
    {{ duplicate_key_or(numeric_problem(['total_m2', 'activity_m2', 'housing_m2', 'mixed_m2', 'road_m2', 'rail_m2', 'unknown_m2'])) }} as quarantine_reason
from {{ source('raw', 'cerema_enaf') }}
where vintage = (select max(vintage) from {{ source('raw', 'cerema_enaf') }})
