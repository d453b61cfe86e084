-- stg_epci_membership with its commune codes re-based to the target geography (see macro rebase_rows).
{{ rebase_rows(ref('stg_epci_membership'), ['commune_code']) }}
