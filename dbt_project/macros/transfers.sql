{#
  The modelled transfer of what territories have in surplus to territories in deficit of the same
  perimeter, in proportion to surpluses and deficits:
      transfer(s -> d) = min(S, D) * surplus_s / S * deficit_d / D
  where S and D are the perimeter's total surplus and deficit. Every modelled flow kind goes through
  it (int_modelled_transfers), whatever it moves: MWh of electricity, hectares of farmland.

  perimeter_totals(balances): S and D per flow kind, level, year and perimeter of a relation with
  a balance column, summed through fixed-point decimals (the same totals whatever the order DuckDB
  adds rows in).
  transfer_value(s, d, t): the transfer from s to d, with t the totals of their perimeter.
#}
{% macro perimeter_totals(balances) %}
    select flow_kind, level, year, perimeter_code,
        {{ exact_sum('greatest(balance, 0)') }} as surplus,
        {{ exact_sum('greatest(-balance, 0)') }} as deficit
    from {{ balances }}
    group by all
{% endmacro %}

{% macro transfer_value(s, d, t) -%}
    least({{ t }}.surplus, {{ t }}.deficit) * ({{ s }}.balance / {{ t }}.surplus) * (-{{ d }}.balance / {{ t }}.deficit)
{%- endmacro %}
