-- Clinic branches: where appointments happen, with the city and the IANA time zone of their local days. The clinic
-- funnel marts read the branch's name and city from here.
select
    branch_id,
    external_id as branch_external_id,
    name as branch_name,
    city,
    address,
    time_zone,
    created_at
from {{ ref('stg_branches') }}
