-- Hospital commission statement per local calendar month: kits sold, net sales and the commission of the
-- plan's volume tier. The tier is the plan's highest tier whose min_monthly_kits the month's kits reach,
-- and its rate applies to the whole month's net sales. One row is one line of the hospital's PDF statement.
with sales as (
    select * from {{ ref('int_hospital_sales_monthly') }}
),

hospitals as (
    select * from {{ ref('dim_hospitals') }}
),

tiers as (
    select plan_id as commission_plan_id, min_monthly_kits, rate from {{ ref('stg_commission_tiers') }}
),

candidate_tiers as (
    -- every tier of the hospital's plan, next to the month's kits
    select
        sales.hospital_id as hospital_id,
        sales.sales_month as sales_month,
        sales.kits_sold as kits_sold,
        tiers.min_monthly_kits as min_monthly_kits,
        tiers.rate as rate
    from sales
    inner join hospitals on hospitals.hospital_id = sales.hospital_id
    inner join tiers on tiers.commission_plan_id = hospitals.commission_plan_id
),

tier_reached as (
    -- the highest tier the month's kits reach
    select
        hospital_id,
        sales_month,
        max(min_monthly_kits) as tier_min_monthly_kits,
        argMax(rate, min_monthly_kits) as commission_rate
    from candidate_tiers
    where min_monthly_kits <= kits_sold
    group by hospital_id, sales_month
),

lines as (
    select
        sales.hospital_id as hospital_id,
        hospitals.hospital_code as hospital_code,
        hospitals.hospital_name as hospital_name,
        sales.sales_month as sales_month,
        hospitals.commission_plan_code as commission_plan_code,
        sales.completed_vends as completed_vends,
        sales.kits_sold as kits_sold,
        sales.refunded_kits as refunded_kits,
        sales.net_sales_reporting as net_sales_reporting,
        coalesce(tier_reached.tier_min_monthly_kits, 0) as tier_min_monthly_kits,
        coalesce(tier_reached.commission_rate, toDecimal32(0, 4)) as commission_rate,
        toDecimal128(round(sales.net_sales_reporting * commission_rate, 2), 2) as commission_reporting
    from sales
    inner join hospitals on hospitals.hospital_id = sales.hospital_id
    left join tier_reached
        on tier_reached.hospital_id = sales.hospital_id
        and tier_reached.sales_month = sales.sales_month
)

select
    toInt64(hospital_id) as hospital_id,
    toString(hospital_code) as hospital_code,
    toString(hospital_name) as hospital_name,
    toDate(sales_month) as sales_month,
    formatDateTime(sales_month, '%Y-%m') as period_label,
    toString(coalesce(commission_plan_code, '')) as commission_plan_code,
    toUInt64(completed_vends) as completed_vends,
    toUInt64(kits_sold) as kits_sold,
    toUInt64(refunded_kits) as refunded_kits,
    toDecimal128(net_sales_reporting, 2) as net_sales_reporting,
    toUInt32(tier_min_monthly_kits) as tier_min_monthly_kits,
    toDecimal32(commission_rate, 4) as commission_rate,
    toDecimal128(commission_reporting, 2) as commission_reporting,
    '{{ var("reporting_currency") }}' as currency
from lines
