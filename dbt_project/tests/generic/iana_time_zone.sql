{#- Every value is a time zone the warehouse's tz database knows (system.time_zones): local dates are computed in
    it, and a zone it does not know would count that row's days in UTC (macros/local_time.sql). -#}
{% test iana_time_zone(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} not in (select time_zone from system.time_zones)
{% endtest %}
