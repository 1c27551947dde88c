-- The volume tiers of each commission plan: from min_monthly_kits kits a month up, the plan pays `rate`.
select
    toInt64(commission_tier_id) as commission_tier_id,
    toInt64(plan_id) as commission_plan_id,
    toInt64(min_monthly_kits) as min_monthly_kits,
    rate
from {{ ref('stg_commission_tiers') }}
