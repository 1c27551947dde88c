-- Appointments (visits) of contacts with doctors.
-- Latest live version of each key: stg_appointments_versions (where raw.appointments is renamed) read FINAL - the
-- `final` setting puts FINAL on the raw table under it, keeping the highest _change_seq - with tombstones dropped.
select * except (_is_deleted)
from {{ ref('stg_appointments_versions') }}
where _is_deleted = 0
settings final = 1
