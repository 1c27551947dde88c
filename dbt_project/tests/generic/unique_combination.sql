{#- Rows are unique on a set of columns (like dbt_utils.unique_combination_of_columns:
    hub packages are not installed here). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count() as n
from {{ model }}
group by {{ columns | join(', ') }}
having n > 1
{% endtest %}
