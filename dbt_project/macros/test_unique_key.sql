{# Generic test: the table's key. No row has a null in `columns`, and no two rows share their
   values (not_null and a unique combination in one query). #}
{% test unique_key(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_sharing_the_key
from {{ model }}
group by all
having count(*) > 1 or {% for c in columns %}{{ c }} is null{{ " or " if not loop.last }}{% endfor %}
{% endtest %}
