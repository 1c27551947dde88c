-- Sales reps with the size of their territory (dim_sales_rep_hospitals' rows, counted once here).
with territory as (
    select sales_rep_id, count() as hospitals
    from {{ ref('dim_sales_rep_hospitals') }}
    group by sales_rep_id
)

select
    reps.sales_rep_id as sales_rep_id,
    reps.sales_rep_name as name,
    reps.email as email,
    reps.locale as locale,
    reps.status as status,
    -- 0 for a rep without a territory yet (an unmatched LEFT JOIN row holds NULL)
    toUInt64(coalesce(territory.hospitals, 0)) as hospitals,
    reps.created_at as created_at
from {{ ref('stg_sales_reps') }} as reps
left join territory on territory.sales_rep_id = reps.sales_rep_id
