-- Wage income carried home by commuters summed to every level (modelled at commune level first).
{{ aggregate_to_levels(ref('int_wage_income_commune'), ['origin_code', 'destination_code'], ['value', 'commuters'], ['year', 'census_year']) }}
