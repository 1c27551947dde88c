-- People at a hospital who receive its reports: what hospital statement subscriptions send to.
select
    contacts.report_contact_id as report_contact_id,
    contacts.hospital_id as hospital_id,
    hospitals.hospital_name as hospital_name,
    contacts.name as name,
    contacts.email as email,
    contacts.locale as locale,
    contacts.role as role
from {{ ref('stg_report_contacts') }} as contacts
inner join {{ ref('stg_hospitals') }} as hospitals
    on hospitals.hospital_id = contacts.hospital_id
