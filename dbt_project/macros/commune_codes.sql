{# Commune codes are text: upper-cased, trimmed, left-padded to 5 (some tools wrote 1001 for 01001). #}
{% macro commune_code(expr) -%}
    case when {{ expr }} is null or trim({{ expr }}) = '' then null
         when regexp_full_match(trim({{ expr }}), '[0-9]{1,4}') then lpad(trim({{ expr }}), 5, '0')
         else upper(trim({{ expr }})) end
{%- endmacro %}

{# Paris, Lyon and Marseille by municipal arrondissement fold to the commune. #}
{% macro fold_arrondissement(code) -%}
    case when {{ code }} between '75101' and '75120' then '75056'
         when {{ code }} between '69381' and '69389' then '69123'
         when {{ code }} between '13201' and '13216' then '13055'
         else {{ code }} end
{%- endmacro %}

{# A French commune code (2A/2B for Corsica); anything else, e.g. MO001, is a place abroad. #}
{% macro is_commune_code(code) -%}
    regexp_full_match({{ code }}, '[0-9]{5}|2[AB][0-9]{3}')
{%- endmacro %}

{# Cast a raw text value; a value that is present but not numeric becomes null and is reported by
   numeric_problem below. #}
{% macro to_number(expr) -%}
    try_cast(nullif(trim({{ expr }}), '') as double)
{%- endmacro %}

{# The first problem of a row's numeric columns: not a number, or a negative count. #}
{% macro numeric_problem(columns) -%}
    case
    {%- for c in columns %}
        when nullif(trim({{ c }}), '') is not null and try_cast(trim({{ c }}) as double) is null
            then 'not a number in {{ c }}: ' || {{ c }}
        when try_cast(trim({{ c }}) as double) < 0 then 'negative value in {{ c }}: ' || {{ c }}
    {%- endfor %}
    end
{%- endmacro %}

{# Sum through fixed-point decimals: the result does not depend on the order DuckDB's threads add
   rows in, so the same inputs give byte-identical Parquet. fixed_point is the decimal a value is
   summed in (a value that is not summed is rounded the same way: cast it and back to double). #}
{% macro fixed_point(expr) -%}
    cast({{ expr }} as decimal(24, 6))
{%- endmacro %}

{% macro exact_sum(expr) -%}
    cast(sum({{ fixed_point(expr) }}) as double)
{%- endmacro %}

{# A row whose key an earlier row of the same file already has (duplicate_of_row, set by the raw
   layer from the contract's key) is set aside before any other problem: never summed twice. #}
{% macro duplicate_key_problem() -%}
    case when duplicate_of_row is not null then 'duplicate key, first at row: ' || duplicate_of_row end
{%- endmacro %}

{% macro duplicate_key_or(problem) -%}
    coalesce({{ duplicate_key_problem() }}, {{ problem }})
{%- endmacro %}
