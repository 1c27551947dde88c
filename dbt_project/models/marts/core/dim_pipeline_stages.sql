-- Sales pipelines' stages with their pipeline and the funnel step each stands for: what a deal's stage id in
-- fct_deal_stage_changes means.
select
    toInt64(stages.pipeline_stage_id) as pipeline_stage_id,
    toInt64(stages.pipeline_id) as pipeline_id,
    toString(pipelines.code) as pipeline_code,
    toString(pipelines.name) as pipeline_name,
    toString(stages.code) as stage_code,
    toString(stages.name) as stage_name,
    toInt32(stages.position) as position,
    toString(stages.funnel_step) as funnel_step,
    toBool(stages.is_won) as is_won,
    toBool(stages.is_lost) as is_lost
from {{ ref('stg_pipeline_stages') }} as stages
inner join {{ ref('stg_pipelines') }} as pipelines on pipelines.pipeline_id = stages.pipeline_id
