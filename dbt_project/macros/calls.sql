{#- Calls: recording links and call-script answers, as the store and the PBX deliver them (integrators POST calls
    and the PBX feed is a file, so both fields are untrusted text). -#}

{#- A recording location the warehouse exposes: an absolute http(s) URL with a host name, made only of characters
    a URL carries unescaped (RFC 3986 letters, digits, -._~ and the delimiters :/?#@!$&()*+,;=%), surrounding
    spaces trimmed. Anything else is NULL: javascript:, data:, vbscript:, relative or protocol-relative paths, and
    any quote, angle bracket, space or control character, so nothing but a web link can ever be rendered from it
    (user:password@ hosts are refused too). -#}
{% macro http_url(expr) -%}
    if(match(trimBoth(coalesce({{ expr }}, '')),
             '^(?i)https?://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?([/?#][A-Za-z0-9._~:/?#@!$&()*+,;=%-]*)?$'),
       trimBoth(coalesce({{ expr }}, '')), NULL)
{%- endmacro %}

{#- An HTML anchor to an http(s) URL (http_url() applied again, whatever the caller passed), opening in a new tab,
    with the URL and the text XML-escaped (& < > " ' become entities), so neither can close the attribute or the
    element; NULL when the URL is not a web link. For Superset tables with allow_render_html. -#}
{% macro html_link(url, text) -%}
    if({{ http_url(url) }} is null, NULL,
       concat('<a href="', encodeXMLComponent(assumeNotNull({{ http_url(url) }})),
              '" target="_blank" rel="noopener noreferrer">', encodeXMLComponent({{ text }}), '</a>'))
{%- endmacro %}

{#- One answer of a call script as text, from its raw JSON value: a string unquoted and trimmed; null, an empty
    string or a missing value '' (the question was put but not answered); a number, boolean, array or object as
    its JSON text. -#}
{% macro script_answer_text(raw) -%}
    multiIf({{ raw }} in ('', 'null'), '',
            startsWith({{ raw }}, '"'), trimBoth(JSONExtractString({{ raw }})),
            {{ raw }})
{%- endmacro %}

{#- The answers of a call script (the store's script_answers JSON text) as Map(question, answer), in the order the
    script holds them; '' = put but not answered. Three shapes are read:
      {"script": "new_lead", "answers": {"service": "МРТ", "consent": null}}  (operators' scripts)
      {"question": "confirm_visit", "answer": "yes"}                          (the voice robot: one question)
      {"service": "МРТ", "consent": "yes"}                                    (a bare object: every key a question)
    NULL, JSON null, invalid JSON or anything but an object gives an empty map; questions are trimmed and empty
    ones dropped. -#}
{% macro script_answers_map(json) -%}
    multiIf(
        not isValidJSON(coalesce({{ json }}, '')) or JSONType(coalesce({{ json }}, '')) != 'Object',
            CAST(map(), 'Map(String, String)'),
        JSONType({{ json }}, 'question') = 'String',
            CAST(arrayFilter(qa -> qa.1 != '', [(trimBoth(JSONExtractString({{ json }}, 'question')),
                                                 {{ script_answer_text("JSONExtractRaw(" ~ json ~ ", 'answer')") }})]),
                 'Map(String, String)'),
        JSONType({{ json }}, 'answers') = 'Object',
            CAST(arrayFilter(qa -> qa.1 != '',
                             arrayMap(kv -> (trimBoth(kv.1), {{ script_answer_text('kv.2') }}),
                                      JSONExtractKeysAndValuesRaw({{ json }}, 'answers'))),
                 'Map(String, String)'),
        CAST(arrayFilter(qa -> qa.1 != '',
                         arrayMap(kv -> (trimBoth(kv.1), {{ script_answer_text('kv.2') }}),
                                  JSONExtractKeysAndValuesRaw({{ json }}))),
             'Map(String, String)'))
{%- endmacro %}

{#- The name of the call's script: its "script" field, the question of a one-question (robot) script, '' for a bare
    object of answers; NULL when the call carries no script answers (`answers`, its script_answers_map(), is
    empty). -#}
{% macro script_name(json, answers) -%}
    if(empty({{ answers }}), NULL,
       multiIf(JSONType({{ json }}, 'script') = 'String', trimBoth(JSONExtractString({{ json }}, 'script')),
               JSONType({{ json }}, 'question') = 'String', trimBoth(JSONExtractString({{ json }}, 'question')),
               ''))
{%- endmacro %}

{#- A script answer that confirms: yes (in English or Russian) or true, any case. -#}
{% macro is_yes(answer) -%}
    lower(trimBoth({{ answer }})) in ('yes', 'y', 'true', '1', 'да')
{%- endmacro %}

{#- How long after an unconfirmed robot call a human operator's outbound call to the same contact counts as the
    human callback it needed (mart_robot_calls; defined once, here). -#}
{% macro robot_callback_window_hours() -%}24{%- endmacro %}
