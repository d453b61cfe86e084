-- Modelled electricity transfer from territories in surplus to territories in deficit of the same
-- région and level, in proportion to surpluses and deficits (macro transfer_mwh):
--   transfer(s -> d) = min(S, D) * surplus_s / S * deficit_d / D
-- where S and D are the région's total surplus and deficit. So no territory sends more than its
-- surplus nor receives more than its deficit, and each région sends what it receives.
with balances as (
    select * from {{ ref('int_energy_balance') }}
),
totals as (
    {{ perimeter_totals('balances') }}
)
select s.level, s.year, s.region_code, s.code as origin_code, d.code as destination_code,
    {{ transfer_mwh('s', 'd', 't') }} as value
from balances as s
join balances as d
    on d.level = s.level and d.year = s.year and d.region_code = s.region_code and d.balance_mwh < 0
join totals as t
    on t.level = s.level and t.year = s.year and t.region_code = s.region_code
where s.balance_mwh > 0
