-- Commune flows summed to every level of the membership table.
{{ aggregate_to_levels(ref('int_commuting_flows_commune'), ['residence_code', 'workplace_code'], ['workers'], ['year', 'destination_abroad'], flags=['split_allocated', 'combines_codes']) }}
