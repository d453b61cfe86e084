-- From the codes of each source geography year to the target COG (built in Python from INSEE's change history).
select geography, code_from, code_to, ratio, split_method
from {{ source('raw', 'commune_passage') }}
