-- What each territory has in surplus (balance > 0) or lacks (balance < 0) of what a modelled flow
-- kind moves, and the perimeter its transfers stay within (int_modelled_transfers):
--   * a commune: its EPCI. A commune's surplus goes to communes of the same intercommunality, the
--     scale at which a reciprocity contract is signed; a commune in no EPCI (a few islands) is its
--     own perimeter and exchanges nothing;
--   * every other level (EPCI, département, région, AAV, custom group): its région (for a territory
--     across a border, the région where most of its population lives).
-- Across a whole région, a commune's surplus would be spread over thousands of communes in deficit
-- (tens of millions of commune pairs of a few kWh each): a figure nobody can use, at a cost.
with perimeters as (
    select r.level, r.code,
        case when r.level = 'commune' then coalesce(e.territory_code, r.code) else r.region_code end as perimeter_code
    from {{ ref('int_territory_regions') }} as r
    left join {{ ref('int_territory_membership') }} as e
        on r.level = 'commune' and e.level = 'epci' and e.commune_code = r.code
),
balances as (
    select 'electricity_transfer' as flow_kind, level, code, year, balance_mwh as balance
    from {{ ref('int_energy_balance') }}
    union all
    select 'food_land', level, code, year, food_land_balance_ha
    from {{ ref('int_food_land_balance') }}
)
select b.flow_kind, b.level, b.year, p.perimeter_code, b.code, b.balance
from balances as b
join perimeters as p using (level, code)
