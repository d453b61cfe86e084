-- A share of a territory's workers or jobs lies between 0 and 100 %: above 100 %, a flow was
-- divided by an incomplete total (the sum of a truncated edition's flows, for instance). So does a
-- share of a territory's modelled wages.
{%- set shares = ['share_of_a_workers_employed_in_b_pct', 'share_of_b_jobs_held_by_a_residents_pct',
                  'share_of_b_workers_employed_in_a_pct', 'share_of_a_jobs_held_by_b_residents_pct'] %}
{%- for share in shares %}
select level, year, code_a as code, '{{ share }}' as share, {{ share }} as pct
from {{ ref('interdependencies') }}
where {{ share }} < 0 or {{ share }} > 100.0001
union all
{%- endfor %}
{%- for share in ['self_containment_pct', 'resident_wages_earned_elsewhere_pct', 'job_wages_paid_elsewhere_pct'] %}
select level, year, code, '{{ share }}', {{ share }}
from {{ ref('territory_indicators') }}
where {{ share }} < 0 or {{ share }} > 100.0001
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
