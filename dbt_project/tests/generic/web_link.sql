{#- Every non-NULL value is an http(s) URL that http_url() keeps as it is (macros/calls.sql): no other scheme, no
    quote, angle bracket or space, so it can only ever be rendered as a web link. -#}
{% test web_url(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and coalesce({{ http_url(column_name) }}, '') != {{ column_name }}
{% endtest %}

{#- Every non-NULL value is exactly one anchor as html_link() builds it: an escaped http(s) href, an escaped text, and
    no other element or attribute (nothing a table rendering HTML could run). -#}
{% test html_web_link(model, column_name) %}
{%- set href %}decodeXMLComponent(extract({{ column_name }}, '^<a href="([^"]*)"')){% endset %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and not (
      match({{ column_name }}, '^<a href="https?://[^"<>\\s]*" target="_blank" rel="noopener noreferrer">[^"<>]*</a>$')
      and {{ http_url(href) }} is not null
  )
{% endtest %}
