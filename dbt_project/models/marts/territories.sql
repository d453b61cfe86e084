-- One row per territory of each level in the target geography (custom groups when FLOWS_GROUPS is set).
with communes as (
    select c.*, p.municipal_population, a.* exclude (commune_code)
    from {{ ref('stg_insee_cog_communes') }} as c
    left join {{ ref('int_commune_population') }} as p using (commune_code)
    left join {{ ref('int_commune_attributes') }} as a using (commune_code)
),
epci_names as (
    select epci_code, min(epci_name) as epci_name from {{ ref('stg_insee_epci') }} group by all
),
commune_epci as (
    select commune_code, territory_code as epci_code from {{ ref('int_territory_membership') }} where level = 'epci'
),
populations as (
    select * from {{ ref('int_territory_population') }}
)
select 'commune' as level, c.commune_code as code, c.commune_name as name,
    e.epci_code, c.departement_code, c.region_code,
    c.municipal_population as population,
    c.density_class_7, c.density_label_7, c.aav_code, c.aav_name, c.aav_category
from communes as c left join commune_epci as e using (commune_code)
union all
select 'epci', m.territory_code, n.epci_name, m.territory_code, null, null, p.population,
    null, null, null, null, null
from (select distinct territory_code from {{ ref('int_territory_membership') }} where level = 'epci') as m
left join epci_names as n on n.epci_code = m.territory_code
left join populations as p on p.level = 'epci' and p.code = m.territory_code
union all
select 'departement', d.departement_code, d.departement_name, null, d.departement_code, d.region_code, p.population,
    null, null, null, null, null
from {{ ref('stg_insee_cog_departements') }} as d
join populations as p on p.level = 'departement' and p.code = d.departement_code
union all
select 'region', r.region_code, r.region_name, null, null, r.region_code, p.population,
    null, null, null, null, null
from {{ ref('stg_insee_cog_regions') }} as r
join populations as p on p.level = 'region' and p.code = r.region_code
union all
select 'group', g.group_id, g.group_name, null, null, null, p.population, null, null, null, null, null
from (
    select group_id, min(group_name) as group_name from {{ ref('int_custom_groups_rebased') }}
    where quarantine_reason is null group by all
) as g
left join populations as p on p.level = 'group' and p.code = g.group_id
