-- What the company owes counterparties (partner clinics' bills): one row per payable invoice, valued and aged by
-- int_invoice_balances (its clock tag rebuilds this mart with it when the date changes).
select
    invoice_id,
    invoice_number,
    counterparty_id,
    counterparty_name,
    counterparty_kind,
    issued_on,
    due_on,
    status,
    currency,
    amount,
    amount_reporting,
    paid_amount,
    paid_reporting,
    outstanding_amount,
    outstanding_reporting,
    last_paid_on,
    days_to_pay,
    as_of_date,
    days_overdue,
    ageing_bucket
from {{ ref('int_invoice_balances') }}
where direction = 'payable'
