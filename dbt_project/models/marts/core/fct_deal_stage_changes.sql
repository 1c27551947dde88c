{{
    config(
        materialized='incremental',
        incremental_strategy='delete_insert',
        unique_key='deal_stage_change_id',
        engine=replicated_engine('MergeTree()'),
        order_by='(deal_id, changed_at, deal_stage_change_id)',
        partition_by='toYYYYMM(changed_at)',
        post_hook="{{ delete_tombstones() }}",
    )
}}
-- One row per move of a deal between pipeline stages (the first row is the deal entering the pipeline).
with changes as (
    {{ latest_versions(ref('stg_deal_stage_history'), ref('stg_deal_stage_history_versions')) }}
)

select
    deal_stage_change_id,
    deal_id,
    from_stage_id,
    to_stage_id,
    operator_id,
    changed_at,
    comment,
    _change_seq,
    _is_deleted,
    _loaded_at
from changes
