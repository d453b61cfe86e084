-- Installations of the ODRE registry; each snapshot of 31 December counts for its year.
-- Energies are in kWh in the registry and converted to MWh here.
select
    'odre_registre_production' as source_id, vintage, vintage as year, geography, source_file, source_row,
    {{ fold_arrondissement(commune_code('commune_code')) }} as commune_code,
    case lower(strip_accents(trim(sector)))
        when 'solaire' then 'solar'
        when 'eolien' then 'wind'
        when 'hydraulique' then 'hydro'
        when 'bioenergies' then 'bioenergy'
        when 'thermique non renouvelable' then 'thermal'
        else 'other' end as production_type,
    {{ to_number('max_power_kw') }} as max_power_kw,
    {{ to_number('produced_kwh') }} / 1000.0 as produced_mwh,
    {{ numeric_problem(['max_power_kw', 'produced_kwh', 'injected_kwh']) }} as quarantine_reason
from {{ source('raw', 'odre_registre_production') }}
