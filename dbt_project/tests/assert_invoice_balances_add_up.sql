-- Every invoice's balance adds up: what is paid, refused and still outstanding covers the amount (outstanding is
-- what is left, never negative), nothing is refused beyond the amount, and a cancelled invoice is owed nothing.
-- Returns the invoices where it does not.
select invoice_id, direction, status, amount, paid_amount, refused_amount, outstanding_amount
from {{ ref('int_invoice_balances') }}
where refused_amount > amount
   or outstanding_amount < 0
   or status = 'cancelled' and outstanding_amount != 0
   or status != 'cancelled' and outstanding_amount != greatest(amount - paid_amount - refused_amount, 0)
   or direction = 'payable' and refused_amount != 0
