{#- An insurance-paid visit: booked under a policy at zero price to the patient (the insurer is invoiced).
    Clinics exclude these from the primary paid conversion. -#}
{% macro is_insurance_visit(insurance_policy, price) -%}
    ({{ insurance_policy }} and coalesce({{ price }}, 0) = 0)
{%- endmacro %}
