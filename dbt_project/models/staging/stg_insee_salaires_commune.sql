-- Mean net hourly wage (euros) of the private-sector employees living in each commune, per year
-- (INSEE, Base Tous salariés, place of residence). A cell INSEE does not publish (too few
-- employees) is kept with the wage null.
select
    'insee_salaires_commune' as source_id, vintage, vintage as year, geography, source_file, source_row,
    {{ fold_arrondissement(commune_code('commune_code')) }} as commune_code,
    {{ to_number('mean_net_hourly_wage') }} as mean_net_hourly_wage_eur,
    {{ duplicate_key_or(numeric_problem(['mean_net_hourly_wage'])) }} as quarantine_reason
from {{ source('raw', 'insee_salaires_commune') }}
