-- The territory bridge: which hospitals each live sales rep looks after, one row per rep and hospital, with both
-- names. What dashboards filter a rep's hospitals by, what dim_sales_reps counts and what the sales rep mart joins
-- machines through. A territory row of a deleted rep or an unknown hospital is left out.
select
    territories.sales_rep_id as sales_rep_id,
    reps.sales_rep_name as sales_rep_name,
    reps.status as sales_rep_status,
    territories.hospital_id as hospital_id,
    hospitals.hospital_code as hospital_code,
    hospitals.hospital_name as hospital_name,
    hospitals.city as city,
    hospitals.region as region
from {{ ref('stg_sales_rep_territories') }} as territories
inner join {{ ref('stg_sales_reps') }} as reps on reps.sales_rep_id = territories.sales_rep_id
inner join {{ ref('dim_hospitals') }} as hospitals on hospitals.hospital_id = territories.hospital_id
