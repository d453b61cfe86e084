-- Completeness: every census vintage fetched is present in commuting_flows and territory_indicators.
select v.year, 'missing from commuting_flows' as problem
from (select distinct year from {{ ref('stg_insee_mobpro_flux') }}) as v
where v.year not in (select year from {{ ref('commuting_flows') }})
union all
select v.year, 'missing from territory_indicators'
from (select distinct year from {{ ref('stg_insee_mobpro_flux') }}) as v
where v.year not in (select year from {{ ref('territory_indicators') }})
