-- Customers (doctors, nurses) holding a prepaid account.
-- Latest live version of each key (FINAL keeps the highest _change_seq; tombstones dropped).
select
    id as customer_id,
    client_id,
    external_id,
    full_name,
    role,
    email,
    phone,
    locale,
    currency as account_currency,
    statement_email_consent,
    home_hospital_id,
    acquisition_channel,
    status,
    failed_pin_count,
    pin_locked_at,
    card_brand,
    registered_at,
    created_at,
    updated_at,
    _change_seq,
    _loaded_at
from {{ source('raw', 'customers') }} final
where _is_deleted = 0
