{#- An amount in the reporting currency: amount * rate, rounded to the cent, as Decimal(18, 2).
    `rate` is the rate to the reporting currency of the amount's currency on its date (int_fx_rates, ASOF on rate_date);
    NULL when no rate on or before that date is known (never silently 0). -#}
{% macro to_reporting(amount, currency, rate, has_rate) -%}
    if({{ currency }} = '{{ var("reporting_currency") }}', toDecimal128({{ amount }}, 2),
       if({{ has_rate }} = 1, toDecimal128(round({{ amount }} * {{ rate }}, 2), 2), NULL))::Nullable(Decimal(18, 2))
{%- endmacro %}

{#- The total of amounts converted by to_reporting: NULL when any of them is NULL (no rate), rather than a sum that
    silently leaves it out (sum() skips NULLs). assert_every_foreign_amount_has_an_fx_rate names the amounts. -#}
{% macro sum_converted(amount) -%}
    if(countIf({{ amount }} is null) > 0, NULL, sum({{ amount }}))
{%- endmacro %}

{#- The reporting-currency total of a group's amounts, each converted at its rate (NULL when one has none). -#}
{% macro sum_reporting(amount, currency, rate, has_rate) -%}
    {{ sum_converted(to_reporting(amount, currency, rate, has_rate)) }}
{%- endmacro %}
