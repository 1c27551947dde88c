-- The exchange rates every reporting-currency amount in the marts was converted at, for readers that state the rate beside the
-- amount (statements): one row per currency and publication date. The rate of a day is the most recent one
-- published on or before it (ASOF join on rate_date).
select currency, rate_date, rate_to_reporting, rate_source, has_rate
from {{ ref('int_fx_rates') }}
