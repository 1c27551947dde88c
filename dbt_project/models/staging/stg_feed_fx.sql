-- Central-bank daily rates to RUB from the FX feed. The same (date, currency) may arrive in more than one
-- file (a resend, a correction): the most recently loaded row wins.
with rows as (
    select * from {{ source('raw', 'feed_fx') }} final
)

select
    date as rate_date,
    currency,
    rate_to_rub,
    _file as source_file,
    _loaded_at
from rows
order by _loaded_at desc, _line desc
limit 1 by date, currency
