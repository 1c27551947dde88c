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
    {%- if state.incremental %}
    select * from {{ change_log_relation(ref('fct_vend_transactions')) }} final
    where _change_seq > {{ state.mark }} and _change_seq <= {{ state.through }}
    {%- else %}
    select *, toInt8(1) as _sign from {{ ref('fct_vend_transactions') }}
    {%- endif %}
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

totals as (
    select {{ grain | join(', ') }}{% for m in measures %}, sum({{ m }}) as {{ m }}{% endfor %}
    from (
        select * from changes
        {%- if state.incremental %}
        union all
        -- the totals held so far for the keys that changed
        select {{ grain | join(', ') }}, {{ measures | join(', ') }}
        from {{ this }} final
        where ({{ grain | join(', ') }}) in (select {{ grain | join(', ') }} from changes)
        {%- endif %}
    )
    group by {{ grain | join(', ') }}
),

{%- set stamp %}
        toUInt64({{ state.through }}) as _applied_through,
        now64(3, 'UTC') as _applied_at,
        '{{ state.generation }}' as _source_generation,
        '{{ state.fingerprint }}' as _inputs_fingerprint
{%- endset %}

state_row as (
    -- what this run applied (read by the next run; every reader drops it with vends > 0)
    {%- set state_key = (change_log_consumer_spec() or {}).get('state_key', {}) %}
    {%- set columns = [] %}
    {%- for column in grain %}{% do columns.append(state_key.get(column, 'null') ~ ' as ' ~ column) %}{% endfor %}
    {%- for m in measures %}
        {%- do columns.append(('toDecimal128(0, 2)' if m.endswith('_reporting') else 'toInt64(0)') ~ ' as ' ~ m) %}
    {%- endfor %}
    select {{ columns | join(', ') }}
)

select *, {{ stamp }} from totals
union all
select *, {{ stamp }} from state_row
