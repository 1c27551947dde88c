-- mart_receivables.last_paid_on is the value date of the invoice's last payment, and NULL for an invoice never
-- paid (not a default date such as 1970-01-01). Returns the invoices where it is not.
with payments as (
    select invoice_id, max(paid_on) as last_paid_on
    from {{ ref('stg_payments') }}
    where invoice_id is not null
    group by invoice_id
)

select receivables.invoice_id, receivables.last_paid_on
from {{ ref('mart_receivables') }} as receivables
left join payments on payments.invoice_id = receivables.invoice_id
where receivables.invoice_id not in (select invoice_id from payments) and receivables.last_paid_on is not null
   or receivables.invoice_id in (select invoice_id from payments)
      and (receivables.last_paid_on is null or receivables.last_paid_on != payments.last_paid_on)
