{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        engine=replicated_engine('ReplacingMergeTree(_applied_through)'),
        order_by='(local_date, machine_id, customer_id, company_month)',
        meta={
            'change_log_consumer': {
                'log_of': 'fct_vend_transactions',
                'rebuild_if_changed': [{'model': 'dim_machines', 'columns': ['machine_id', 'time_zone']}],
                'state_key': {'local_date': "toDate('1970-01-01')", 'machine_id': 'toInt64(0)', 'customer_id': 'toInt64(0)',
                              'company_month': "toDate('1970-01-01')"},
            },
        },
    )
}}
-- Vend totals per machine, customer, local day (hospital time zone) and company month, kept up to date from
-- fct_vend_transactions' change log instead of rescanning the fact: each run takes the changed versions out
-- (_sign -1) and puts the new ones in (+1), adds them to the totals it held for those keys and appends the new
-- totals as new versions (a key whose vends all went away gets zeros). Read it through int_vend_daily (FINAL,
-- zero rows dropped). It rebuilds from the fact when it cannot follow the log (macros/change_log_consumer.sql),
-- e.g. when a machine's time zone changes. Totals are additive, so marts sum them to any coarser grain.
{%- set state = change_log_consumer_state() %}
with vends as (
    {{ change_log_changes(ref('fct_vend_transactions'), state) }}
),

changes as (
    select
        {{ local_date('vends.device_time', 'machines.time_zone', ref('dim_machines')) }} as local_date,
        vends.machine_id as machine_id,
        vends.customer_id as customer_id,
        toStartOfMonth({{ company_date('vends.device_time') }}) as company_month,
        toInt64(vends._sign) as vends,
        toInt64(vends._sign * vends.is_completed) as completed_vends,
        toInt64(vends._sign * (vends.status = 'failed')) as failed_vends,
        toInt64(vends._sign * (vends.status = 'refunded')) as refunded_vends,
        toInt64(vends._sign * vends.is_offline) as offline_vends,
        toInt64(vends._sign * vends.is_completed * vends.quantity) as kits_sold,
        toInt64(vends._sign * (vends.status = 'refunded') * vends.quantity) as refunded_kits,
        toInt64(vends._sign * (vends.is_completed and vends.amount_reporting is not null)) as priced_completed_vends,
        toInt64(vends._sign * (vends.status = 'refunded' and vends.amount_reporting is not null)) as priced_refunded_vends,
        toDecimal128(if(vends.is_completed, coalesce(vends.amount_reporting, 0), 0), 2) * vends._sign as revenue_reporting,
        toDecimal128(if(vends.status = 'refunded', coalesce(vends.amount_reporting, 0), 0), 2) * vends._sign as refunded_reporting
    from vends
    left join {{ ref('dim_machines') }} as machines on machines.machine_id = vends.machine_id
),

{%- set measures = ['vends', 'completed_vends', 'failed_vends', 'refunded_vends', 'offline_vends', 'kits_sold',
                    'refunded_kits', 'priced_completed_vends', 'priced_refunded_vends', 'revenue_reporting', 'refunded_reporting'] %}
{%- set grain = ['local_date', 'machine_id', 'customer_id', 'company_month'] %}

{{ change_log_totals(state, grain, measures) }}
