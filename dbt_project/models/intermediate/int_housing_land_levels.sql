-- Housing land for jobs elsewhere summed to every level (allocated at commune level first).
{{ aggregate_to_levels(ref('int_housing_land_allocation'), ['origin_code', 'destination_code'], ['value'], ['year', 'census_year']) }}
