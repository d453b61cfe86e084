{#
  The modelled transfer from territories in surplus to territories in deficit of the same
  perimeter (the région), in proportion to surpluses and deficits:
      transfer(s -> d) = min(S, D) * surplus_s / S * deficit_d / D
  where S and D are the perimeter's total surplus and deficit. One statement of the formula for
  the commune-by-commune ledger (int_electricity_transfers) and for the pairs that need only a
  few of its values (interdependencies), which compute them from the balances instead of reading
  the whole ledger.

  perimeter_totals(balances): S and D per level, year and région of a relation with balance_mwh,
  summed through fixed-point decimals (the same totals whatever the order DuckDB adds rows in).
  transfer_mwh(s, d, t): the transfer from s to d, with t the totals of their région.
#}
{% macro perimeter_totals(balances) %}
    select level, year, region_code,
        {{ exact_sum('greatest(balance_mwh, 0)') }} as surplus_mwh,
        {{ exact_sum('greatest(-balance_mwh, 0)') }} as deficit_mwh
    from {{ balances }}
    group by all
{% endmacro %}

{% macro transfer_mwh(s, d, t) -%}
    least({{ t }}.surplus_mwh, {{ t }}.deficit_mwh) * ({{ s }}.balance_mwh / {{ t }}.surplus_mwh) * (-{{ d }}.balance_mwh / {{ t }}.deficit_mwh)
{%- endmacro %}
