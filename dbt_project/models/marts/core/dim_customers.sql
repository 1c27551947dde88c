-- Customers (doctors, nurses) holding a prepaid account. Secrets (PIN hash, payment token) never reach the warehouse.
select
    customers.customer_id as customer_id,
    customers.client_id as client_id,
    customers.full_name as full_name,
    customers.role as role,
    customers.email as email,
    customers.locale as locale,
    customers.account_currency as account_currency,
    customers.statement_email_consent as statement_email_consent,
    customers.home_hospital_id as home_hospital_id,
    hospitals.hospital_name as home_hospital_name,
    customers.acquisition_channel as acquisition_channel,
    customers.status as status,
    customers.pin_locked_at is not null as is_pin_locked,
    customers.registered_at as registered_at
from {{ ref('stg_customers') }} as customers
left join {{ ref('stg_hospitals') }} as hospitals
    on hospitals.hospital_id = customers.home_hospital_id
