{{
    config(
        materialized='incremental',
        incremental_strategy='delete_insert',
        unique_key='vend_transaction_id',
        engine='MergeTree()',
        order_by='(machine_id, device_time, vend_transaction_id)',
        partition_by='toYYYYMM(device_time)',
        indexes=[{'name': 'change_seq_minmax', 'definition': '_change_seq type minmax granularity 1'}],
        meta={'change_log': true},
        post_hook=["{{ delete_tombstones() }}", "{{ change_log_post_hook() }}"],
    )
}}
-- One row per vend reported by a machine (completed, failed or refunded), in the machine's own currency
-- and in RUB. Incremental on raw _change_seq: updated vends (e.g. refunded later) are replaced, tombstones removed.
-- Every change is also written to its change log (macros/change_log.sql), which int_vend_daily_versions follows;
-- the minmax index on _change_seq lets windowed tests and the log skip the parts a batch did not touch.
with vends as (
    {{ latest_versions(source('raw', 'vend_transactions')) }}
),

fx as (
    select * from {{ ref('int_fx_rates') }}
)

select
    vends.id as vend_transaction_id,
    vends.machine_id as machine_id,
    vends.customer_id as customer_id,
    vends.product_id as product_id,
    vends.authorisation_id as authorisation_id,
    vends.quantity as quantity,
    vends.unit_price as unit_price,
    vends.amount as amount,
    vends.currency as currency,
    {{ to_rub('vends.amount', 'vends.currency', 'fx.rate_to_rub', 'fx.has_rate') }} as amount_rub,
    vends.status as status,
    vends.status = 'completed' as is_completed,
    vends.device_time as device_time,
    vends.received_at as received_at,
    vends.offline as is_offline,
    greatest(dateDiff('second', vends.device_time, vends.received_at), 0) as upload_delay_seconds,
    vends._change_seq as _change_seq,
    vends._is_deleted as _is_deleted,
    vends._loaded_at as _loaded_at
from vends
asof left join fx
    on fx.currency = vends.currency
    and fx.rate_date <= toDate32(vends.device_time)
