-- Commune -> EPCI on 1 January of the latest vintage; ZZZZZZZZZ marks communes outside any EPCI.
select
    'insee_epci' as source_id, vintage, geography, source_file, source_row,
    {{ commune_code('commune_code') }} as commune_code,
    trim(epci_code) as epci_code,
    epci_name,
    {{ duplicate_key_or('cast(null as varchar)') }} as quarantine_reason
from {{ source('raw', 'insee_epci') }}
where vintage = (select max(vintage) from {{ source('raw', 'insee_epci') }})
  and trim(epci_code) <> 'ZZZZZZZZZ'
