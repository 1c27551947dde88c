-- Vending operations per machine and local day (the hospital's time zone): vends, kits and revenue,
-- failed and refunded vends, the share uploaded from an offline buffer, authorisation declines by reason and
-- PIN lockouts (computed in int_machine_days), with the machine's serial and hospital. Declines for an unknown
-- machine have no machine and are not in this table.
select
    days.day as day,
    days.machine_id as machine_id,
    toString(machines.serial) as machine_serial,
    toInt64(machines.hospital_id) as hospital_id,
    toString(machines.hospital_name) as hospital_name,
    days.* except (day, machine_id)
from {{ ref('int_machine_days') }} as days
inner join {{ ref('dim_machines') }} as machines on machines.machine_id = days.machine_id
