{#- The "current sales rate" of the machine stock marts: kits sold per day over the trailing window of this many
    complete local days before today in the hospital's time zone (today, not over yet, is left out), per machine and
    product. Defined here once; mart_machine_stock's window, daily sales rate and days of cover all read it. A run
    may set another window with `--vars '{sales_rate_window_days: 14}'`. -#}
{% macro sales_rate_window_days() -%}
    {%- set days = var('sales_rate_window_days', 28) | int -%}
    {%- if days < 1 -%}
        {{ exceptions.raise_compiler_error('sales_rate_window_days must be at least 1, not ' ~ days) }}
    {%- endif -%}
    {{ return(days) }}
{%- endmacro %}
