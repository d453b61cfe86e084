-- No territory sends more than its surplus or receives more than its deficit, and in each région
-- the total sent equals min(total surplus, total deficit).
with sent as (
    select level, year, origin_code as code, sum(value) as mwh from {{ ref('int_electricity_transfers') }} group by all
),
received as (
    select level, year, destination_code as code, sum(value) as mwh from {{ ref('int_electricity_transfers') }} group by all
),
by_region as (
    select b.level, b.year, b.region_code,
        least(sum(greatest(b.balance_mwh, 0)), sum(greatest(-b.balance_mwh, 0))) as expected_mwh,
        coalesce(sum(s.mwh), 0) as sent_mwh, coalesce(sum(r.mwh), 0) as received_mwh
    from {{ ref('int_energy_balance') }} as b
    left join sent as s using (level, year, code)
    left join received as r using (level, year, code)
    group by all
)
select 'over surplus' as problem, b.level, b.year, b.code
from {{ ref('int_energy_balance') }} as b join sent as s using (level, year, code)
where s.mwh > greatest(b.balance_mwh, 0) + 1e-6
union all
select 'over deficit', b.level, b.year, b.code
from {{ ref('int_energy_balance') }} as b join received as r using (level, year, code)
where r.mwh > greatest(-b.balance_mwh, 0) + 1e-6
union all
select 'unbalanced region', level, year, region_code
from by_region
where abs(sent_mwh - expected_mwh) > 1e-6 * greatest(1, expected_mwh)
   or abs(received_mwh - expected_mwh) > 1e-6 * greatest(1, expected_mwh)
