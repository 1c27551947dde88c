-- CRM contacts (patients). Contacts who asked to be forgotten are tombstoned upstream and absent here.
select
    contact_id,
    external_id as mis_id,
    full_name,
    phone,
    email,
    birth_date,
    gender,
    city,
    source as first_source,
    marketing_consent,
    created_at
from {{ ref('stg_contacts') }}
