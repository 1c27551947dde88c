{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        engine=replicated_engine('ReplacingMergeTree(_applied_through)'),
        order_by='(local_date, machine_id, product_id)',
        meta={
            'change_log_consumer': {
                'log_of': 'fct_vend_transactions',
                'rebuild_if_changed': [{'model': 'dim_machines', 'columns': ['machine_id', 'time_zone']}],
                'state_key': {'local_date': "toDate('1970-01-01')", 'machine_id': 'toInt64(0)', 'product_id': 'toInt64(0)'},
            },
        },
    )
}}
-- Vend totals per machine, product and local day (hospital time zone): what the machine stock marts need (kits and
-- revenue by product), which int_vend_daily's per-customer grain does not carry. Kept up to date from
-- fct_vend_transactions' change log exactly as int_vend_daily_versions is (macros/change_log_consumer.sql): each run
-- takes the changed versions out (_sign -1), puts the new ones in (+1), adds them to the totals held for those keys
-- and appends the new totals as new versions; a key whose vends all went away gets zeros. Read it through
-- int_vend_product_daily (FINAL, zero rows dropped). The measures are int_vend_daily's, computed the same way.
{%- set state = change_log_consumer_state() %}
with vends as (
    {{ change_log_changes(ref('fct_vend_transactions'), state) }}
),

changes as (
    select
        {{ local_date('vends.device_time', 'machines.time_zone', ref('dim_machines')) }} as local_date,
        vends.machine_id as machine_id,
        vends.product_id as product_id,
        toInt64(vends._sign) as vends,
        toInt64(vends._sign * vends.is_completed) as completed_vends,
        toInt64(vends._sign * vends.is_completed * vends.quantity) as kits_sold,
        toInt64(vends._sign * (vends.is_completed and vends.amount_reporting is not null)) as priced_completed_vends,
        toDecimal128(if(vends.is_completed, coalesce(vends.amount_reporting, 0), 0), 2) * vends._sign as revenue_reporting
    from vends
    left join {{ ref('dim_machines') }} as machines on machines.machine_id = vends.machine_id
),

{%- set measures = ['vends', 'completed_vends', 'kits_sold', 'priced_completed_vends', 'revenue_reporting'] %}
{%- set grain = ['local_date', 'machine_id', 'product_id'] %}

{{ change_log_totals(state, grain, measures) }}
