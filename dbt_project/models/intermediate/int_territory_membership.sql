-- Which territory of each level every commune of the target geography belongs to. All
-- aggregation goes through this table (macro aggregate_to_levels): a new level is new rows here.
with epci as (
    select commune_code_target as commune_code, arg_max(epci_code, population_weight) as epci_code
    from (
        select r.*, coalesce(p.municipal_population, 0) + (r.commune_code = r.commune_code_target)::int as population_weight
        from {{ ref('int_epci_membership_rebased') }} as r
        left join {{ ref('int_commune_population') }} as p on p.commune_code = r.commune_code_target
        where r.quarantine_reason is null
    )
    group by all
)
select 'commune' as level, commune_code, commune_code as territory_code from {{ ref('stg_insee_cog_communes') }}
union all
select 'epci', commune_code, epci_code from epci
union all
select 'departement', commune_code, departement_code from {{ ref('stg_insee_cog_communes') }}
union all
select 'region', commune_code, region_code from {{ ref('stg_insee_cog_communes') }}
union all
select distinct 'group', commune_code_target, group_id from {{ ref('int_custom_groups_rebased') }}
where quarantine_reason is null
