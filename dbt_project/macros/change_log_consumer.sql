{#- Incremental aggregates that follow a fact's change log (macros/change_log.sql).

    A consumer is an incremental model (append, ReplacingMergeTree versioned by `_applied_through`) configured
    with meta:
        change_log_consumer:
          log_of: fct_vend_transactions                 # the fact whose change log it reads
          rebuild_if_changed:                           # inputs it cannot follow row by row
            - {model: dim_machines, columns: [machine_id, time_zone]}
          state_key: {machine_id: 0, ...}               # grain values of the state row (SQL literals)
    Each run appends the new totals of the grain keys that changed, plus one state row (at `state_key`) carrying what it has applied: `_applied_through` (log position), `_source_generation` (the fact
    table's UUID), `_inputs_fingerprint` (hash of the rebuild_if_changed columns) and `_applied_at`.

    It rebuilds from the fact instead of reading the log when: it does not exist or has no state row, the fact
    was rebuilt (new generation: the log restarted), an input it cannot follow changed (e.g. a machine's time
    zone, which moves every local date of that machine), or it last ran more than 7 days ago (the log keeps 14).

    Known limit: the log is written just before the fact changes; if a fact run stops between the two and this
    model alone is rebuilt before the fact runs again, the rebuild reflects the fact as it was. Any normal run
    (`dbt build`, the Airflow DAG, `pulse dbt`) runs the fact first, so this needs a hand-picked selection. -#}

{#- A model's meta entry; none while parsing (config.get answers '' then). -#}
{% macro model_meta(key) -%}
    {%- set meta = config.get('meta', {}) if execute else none -%}
    {{ return(meta.get(key) if meta is mapping else none) }}
{%- endmacro %}

{% macro change_log_consumer_spec() -%}
    {{ return(model_meta('change_log_consumer')) }}
{%- endmacro %}

{#- What the consumer must do now: {'incremental': bool, 'reason': str, 'mark': int, 'through': int,
    'generation': str, 'fingerprint': str}. Runs a few small queries (state row by primary key, the log's max). -#}
{% macro change_log_consumer_state() -%}
    {#- asked again within one node's context (the materialization asks should_full_refresh() more than once):
        the first answer, kept on the context's `model` -#}
    {%- if execute and model is mapping and model.get('pulse_change_log_state') -%}
        {{ return(model['pulse_change_log_state']) }}
    {%- endif -%}
    {%- set state = change_log_consumer_state_from_warehouse() -%}
    {%- if execute and model is mapping -%}{%- do model.update({'pulse_change_log_state': state}) -%}{%- endif -%}
    {{ return(state) }}
{%- endmacro %}

{% macro change_log_consumer_state_from_warehouse() -%}
    {%- set spec = change_log_consumer_spec() -%}
    {%- set state = {'incremental': false, 'reason': 'first build', 'mark': 0, 'through': 0, 'generation': '',
                     'fingerprint': '0'} -%}
    {%- if not execute or spec is none -%}{{ return(state) }}{%- endif -%}
    {%- set fact = ref(spec['log_of']) -%}
    {%- set changes = change_log_relation(fact) -%}
    {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) -%}

    {%- set hashes = [] -%}
    {%- for input in spec.get('rebuild_if_changed', []) -%}
        {%- set relation = ref(input['model']) -%}
        {%- if load_relation(relation) is none -%}
            {#- not built yet (e.g. `dbt docs generate` on an empty warehouse compiles every model) -#}
            {%- do hashes.append("'missing'") -%}
        {%- else -%}
            {%- do hashes.append('(select groupBitXor(cityHash64(' ~ input['columns'] | join(', ') ~ ')) from '
                                 ~ relation ~ ')') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set current = run_query(
        "select (select toString(uuid) from system.tables where database = '" ~ fact.schema ~ "' and name = '"
        ~ fact.identifier ~ "'), toString(cityHash64(" ~ (hashes | join(', ') if hashes else '0') ~ ")),"
        ~ " (select count() from system.tables where database = '" ~ changes.schema ~ "' and name = '"
        ~ changes.identifier ~ "')").rows[0] -%}
    {%- do state.update({'generation': current[0], 'fingerprint': current[1]}) -%}
    {%- if current[2] > 0 -%}
        {%- do state.update({'through': run_query('select max(_change_seq) from ' ~ changes).rows[0][0]}) -%}
    {%- endif -%}

    {%- set full_refresh = config.get('full_refresh') -%}
    {%- if full_refresh is none -%}{%- set full_refresh = flags.FULL_REFRESH -%}{%- endif -%}
    {%- if existing is none or existing.type != 'table' or full_refresh -%}
        {%- do state.update({'reason': 'first build' if existing is none else 'full refresh'}) -%}
        {{ return(state) }}
    {%- endif -%}
    {%- set conditions = [] -%}
    {%- for column, value in spec['state_key'].items() -%}
        {%- do conditions.append(column ~ ' = ' ~ value) -%}
    {%- endfor -%}
    {%- set found = run_query(
        'select max(_applied_through), argMax(_source_generation, _applied_through),'
        ~ ' argMax(_inputs_fingerprint, _applied_through), max(_applied_at) < now64(3) - interval 7 day, count()'
        ~ ' from ' ~ this ~ ' where ' ~ conditions | join(' and ')).rows[0] -%}
    {%- if found[4] == 0 -%}
        {%- do state.update({'reason': 'no state row'}) -%}
    {%- elif found[1] != state['generation'] -%}
        {%- do state.update({'reason': spec['log_of'] ~ ' was rebuilt'}) -%}
    {%- elif found[2] != state['fingerprint'] -%}
        {%- do state.update({'reason': 'an input it cannot follow row by row changed'}) -%}
    {%- elif found[3] -%}
        {%- do state.update({'reason': 'last applied more than 7 days ago'}) -%}
    {%- elif current[2] == 0 -%}
        {%- do state.update({'reason': 'change log missing'}) -%}
    {%- else -%}
        {%- do state.update({'incremental': true, 'reason': 'follows the change log', 'mark': found[0]}) -%}
    {%- endif -%}
    {%- do log(this ~ ': ' ~ state['reason'], info=false) -%}
    {{ return(state) }}
{%- endmacro %}


{#- The fact's versions a consumer run applies, signed (`_sign`): those logged since its last run (-1 takes an old
    version out, +1 puts the new one in), or on a rebuild the whole fact (+1). `fact` is the model's ref() of it. -#}
{% macro change_log_changes(fact, state) -%}
    {%- if state.incremental %}
    select * from {{ change_log_relation(fact) }} final
    where _change_seq > {{ state.mark }} and _change_seq <= {{ state.through }}
    {%- else %}
    select *, toInt8(1) as _sign from {{ fact }}
    {%- endif %}
{%- endmacro %}

{#- The rest of a consumer after its `changes` CTE (the signed `measures` per `grain` key): the changes added to the
    totals held for those keys (`totals`), the state row, and both appended with what this run applied. -#}
{% macro change_log_totals(state, grain, measures) -%}
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
{%- endmacro %}
