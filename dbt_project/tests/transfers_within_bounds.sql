-- Conservation and bounds of every modelled flow kind (int_modelled_transfers): no territory sends
-- more than its surplus or receives more than its deficit, and in each perimeter and year what
-- leaves the territories in surplus equals what reaches those in deficit, min(total surplus,
-- total deficit).
with balances as (
    select * from {{ ref('int_transfer_balances') }}
),
sent as (
    select flow_kind, level, year, origin_code as code, sum(value) as value
    from {{ ref('int_modelled_transfers') }} group by all
),
received as (
    select flow_kind, level, year, destination_code as code, sum(value) as value
    from {{ ref('int_modelled_transfers') }} group by all
),
by_perimeter as (
    select b.flow_kind, b.level, b.year, b.perimeter_code,
        least(sum(greatest(b.balance, 0)), sum(greatest(-b.balance, 0))) as expected,
        coalesce(sum(s.value), 0) as sent, coalesce(sum(r.value), 0) as received
    from balances as b
    left join sent as s using (flow_kind, level, year, code)
    left join received as r using (flow_kind, level, year, code)
    group by all
)
select 'over surplus' as problem, b.flow_kind, b.level, b.year, b.code
from balances as b join sent as s using (flow_kind, level, year, code)
where s.value > greatest(b.balance, 0) + 1e-6
union all
select 'over deficit', b.flow_kind, b.level, b.year, b.code
from balances as b join received as r using (flow_kind, level, year, code)
where r.value > greatest(-b.balance, 0) + 1e-6
union all
select 'unbalanced perimeter', flow_kind, level, year, perimeter_code
from by_perimeter
where abs(sent - expected) > 1e-6 * greatest(1, expected)
   or abs(received - expected) > 1e-6 * greatest(1, expected)
