-- Vending machines with the hospital they stand in (and its time zone, for local dates).
select
    machines.machine_id as machine_id,
    machines.serial as serial,
    machines.hospital_id as hospital_id,
    hospitals.hospital_code as hospital_code,
    hospitals.hospital_name as hospital_name,
    hospitals.time_zone as time_zone,
    machines.location as location,
    machines.status as status,
    machines.installed_on as installed_on,
    machines.last_seen_at as last_seen_at
from {{ ref('stg_machines') }} as machines
left join {{ ref('stg_hospitals') }} as hospitals
    on hospitals.hospital_id = machines.hospital_id
