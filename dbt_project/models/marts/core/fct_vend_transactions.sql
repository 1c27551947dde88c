{{
    config(
        materialized='incremental',
        incremental_strategy='delete_insert',
        unique_key='vend_transaction_id',
        engine=replicated_engine('MergeTree()'),
        order_by='(vend_transaction_id)',
        partition_by='toYYYYMM(device_time)',
        indexes=[{'name': 'change_seq_minmax', 'definition': '_change_seq type minmax granularity 1'}],
        settings={'enable_block_number_column': 1, 'enable_block_offset_column': 1},
        meta={'change_log': true},
        post_hook=["{{ delete_tombstones() }}", "{{ change_log_post_hook() }}"],
    )
}}
-- One row per vend reported by a machine (completed, failed or refunded), in the machine's own currency
-- and in the reporting currency. Incremental on raw _change_seq: updated vends (e.g. refunded later) are replaced, tombstones removed.
-- Every change is also written to its change log (macros/change_log.sql), which int_vend_daily_versions follows.
-- Sorted by its key: each hourly merge looks up the rows it replaces by key, and so do the windowed unique tests
-- (ids are machine serial + counter, so a machine's vends stay together and new ones sort last). The minmax index
-- on _change_seq lets windowed tests skip the parts a batch did not touch; block number and offset columns let a
-- batch delete the rows it replaces as a small patch part (lightweight update) instead of a mutation of every part.
with vends as (
    {{ latest_versions(ref('stg_vend_transactions'), ref('stg_vend_transactions_versions')) }}
),

fx as (
    select * from {{ ref('int_fx_rates') }}
)

select
    vends.vend_transaction_id as vend_transaction_id,
    vends.machine_id as machine_id,
    vends.customer_id as customer_id,
    vends.product_id as product_id,
    vends.authorisation_id as authorisation_id,
    vends.quantity as quantity,
    vends.unit_price as unit_price,
    vends.amount as amount,
    vends.currency as currency,
    {{ to_reporting('vends.amount', 'vends.currency', 'fx.rate_to_reporting', 'fx.has_rate') }} as amount_reporting,
    vends.status as status,
    vends.status = 'completed' as is_completed,
    vends.device_time as device_time,
    vends.received_at as received_at,
    vends.is_offline as is_offline,
    greatest(dateDiff('second', vends.device_time, vends.received_at), 0) as upload_delay_seconds,
    vends._change_seq as _change_seq,
    vends._is_deleted as _is_deleted,
    vends._loaded_at as _loaded_at
from vends
asof left join fx
    on fx.currency = vends.currency
    and fx.rate_date <= toDate32(vends.device_time)
