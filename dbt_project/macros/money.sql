{#- An amount in the reporting currency (RUB): amount * rate, rounded to kopecks, as Decimal(18, 2).
    `rate` is the rate to RUB of the amount's currency on the amount's date (int_fx_rates_daily, ASOF);
    NULL when no rate on or before that date is known (never silently 0). -#}
{% macro to_rub(amount, currency, rate, has_rate) -%}
    if({{ currency }} = '{{ var("reporting_currency") }}', toDecimal128({{ amount }}, 2),
       if({{ has_rate }} = 1, toDecimal128(round({{ amount }} * {{ rate }}, 2), 2), NULL))::Nullable(Decimal(18, 2))
{%- endmacro %}
