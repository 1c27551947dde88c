-- Hospitals hosting vending machines, with their commission plan.
select
    hospitals.hospital_id as hospital_id,
    hospitals.hospital_code as hospital_code,
    hospitals.hospital_name as hospital_name,
    hospitals.city as city,
    hospitals.region as region,
    hospitals.time_zone as time_zone,
    hospitals.commission_plan_id as commission_plan_id,
    plans.code as commission_plan_code,
    plans.name as commission_plan_name,
    plans.currency as commission_currency,
    hospitals.created_at as created_at
from {{ ref('stg_hospitals') }} as hospitals
left join {{ ref('stg_commission_plans') }} as plans
    on plans.commission_plan_id = hospitals.commission_plan_id
