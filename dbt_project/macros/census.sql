{#
  For each year of `years` (a relation with a `year` column): the complete commuting census edition
  nearest to it (every flow published, internal ones included), the earlier on a tie. The flows
  that other sources are spread over or multiplied by come from it.
#}
{% macro nearest_complete_census(years) %}
select y.year, arg_min(c.year, abs(y.year - c.year) * 2 + (c.year > y.year)::int) as census_year
from (select distinct year from {{ years }}) as y
cross join (select year from {{ ref('int_census_editions') }} where is_complete) as c
group by all
{% endmacro %}
