-- Commune measures summed to every level of the membership table.
{{ aggregate_to_levels(ref('int_commune_measures'), ['commune_code'], ['value'], ['year', 'indicator']) }}
