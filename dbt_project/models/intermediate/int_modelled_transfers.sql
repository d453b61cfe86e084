-- Modelled transfers from territories in surplus to territories in deficit of the same perimeter,
-- level and year (int_transfer_balances), in proportion to surpluses and deficits (macro
-- transfer_value): transfer(s -> d) = min(S, D) * surplus_s / S * deficit_d / D, where S and D are
-- the perimeter's total surplus and deficit. So no territory sends more than its surplus nor
-- receives more than its deficit, and each perimeter sends what it receives.
with balances as (
    select * from {{ ref('int_transfer_balances') }}
),
totals as (
    {{ perimeter_totals('balances') }}
)
select s.flow_kind, s.level, s.year, s.perimeter_code, s.code as origin_code, d.code as destination_code,
    {{ transfer_value('s', 'd', 't') }} as value
from balances as s
join balances as d
    on d.flow_kind = s.flow_kind and d.level = s.level and d.year = s.year and d.perimeter_code = s.perimeter_code
    and d.balance < 0
join totals as t
    on t.flow_kind = s.flow_kind and t.level = s.level and t.year = s.year and t.perimeter_code = s.perimeter_code
where s.balance > 0
