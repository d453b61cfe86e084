{# Generic test: no two rows share the same values of `columns` (the table's grain). #}
{% test unique_key(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_sharing_the_key
from {{ model }}
group by all
having count(*) > 1
{% endtest %}
