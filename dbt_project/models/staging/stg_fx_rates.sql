-- Daily FX rates: 1 base = rate quote.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as fx_rate_id,
    day,
    base_currency,
    quote_currency,
    rate,
    source,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'fx_rates') }} final
where _is_deleted = 0
