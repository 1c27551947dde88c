-- Insurers, assistance companies and partner clinics the company invoices.
select
    counterparty_id,
    external_id as counterparty_external_id,
    name as counterparty_name,
    kind,
    country,
    currency as invoicing_currency
from {{ ref('stg_counterparties') }}
