-- Call-centre and front-desk operators, and voice robots.
select
    operator_id,
    external_id as operator_external_id,
    name as operator_name,
    team,
    is_robot,
    active as is_active
from {{ ref('stg_operators') }}
