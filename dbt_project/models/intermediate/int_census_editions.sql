-- Census editions of the commuting base and whether they hold flows inside a commune. Older
-- editions omit them (and flows under 100); read on the producer's codes, because folding
-- arrondissements makes Paris 1er -> 15e look internal.
select year, bool_or(residence_code_source = workplace_code_source) as has_internal_flows
from {{ ref('stg_mobpro_flux') }}
group by all
