"""The subscriptions `pulse reports seed-defaults` creates: one per report, each with a recipient query.

Schedules are in the company's time zone (PULSE_COMPANY_TIME_ZONE, as the marts): monthly statements early on the
1st for the month before, the executive summary on Monday morning for the business week before. The executives read
the business's language (the chief executive English). The executive and
counterparty addresses are placeholders to edit (PATCH /v1/report-subscriptions/{id}): the operational
store keeps no contact address for counterparties, so their statements go to the receivables team, which
forwards them.
"""

from __future__ import annotations

from typing import Any

from pulse.core.business import Business

EXECUTIVES = {  # locale: the finance and operations directors' titles
    "en": ("Chief Financial Officer", "Chief Operating Officer"),
    "ru": ("Финансовый директор", "Операционный директор"),
}

DEFAULT_SUBSCRIPTIONS: list[dict[str, Any]] = [
    {
        "name": "hospital-monthly-statements",
        "description": "Monthly commission statement to every report contact of every hospital with a machine "
        "in service.",
        "report_kind": "hospital_statement",
        "cron": "0 7 1 * *",
        "recipient_query": """SELECT
    contacts.hospital_id AS hospital_id,
    contacts.email AS email,
    contacts.locale AS locale,
    contacts.name AS name
FROM marts.dim_report_contacts AS contacts
WHERE contacts.hospital_id IN (SELECT hospital_id FROM marts.dim_machines WHERE status != 'retired')
ORDER BY contacts.hospital_id, contacts.email""",
    },
    {
        "name": "customer-monthly-statements",
        "description": "Monthly account statement to every customer who agreed to statements by email.",
        "report_kind": "customer_statement",
        "cron": "0 8 1 * *",
        "recipient_query": """SELECT
    customer_id,
    email,
    locale,
    full_name AS name
FROM marts.dim_customers
WHERE statement_email_consent AND email != '' AND status != 'closed'
ORDER BY customer_id""",
    },
    {
        "name": "executive-weekly-summary",
        "description": "Weekly KPI summary for the executives (a static list: edit the addresses).",
        "report_kind": "executive_weekly",
        "cron": "0 8 * * 1",
        "recipient_query": """SELECT 'ceo@pulse.example.com' AS email, 'en' AS locale, 'Chief Executive' AS name
UNION ALL
SELECT 'cfo@pulse.example.com', '{locale}', '{cfo}'
UNION ALL
SELECT 'coo@pulse.example.com', '{locale}', '{coo}'""",
    },
    {
        "name": "counterparty-monthly-statements",
        "description": "Monthly settlement statement of every counterparty, to the receivables team.",
        "report_kind": "counterparty_statement",
        "cron": "0 9 2 * *",
        "recipient_query": """SELECT
    counterparty_id,
    'receivables@pulse.example.com' AS email,
    if(country = 'RU', 'ru', 'en') AS locale
FROM marts.dim_counterparties
ORDER BY counterparty_id""",
    },
]


def default_subscriptions(business: Business) -> list[dict[str, Any]]:
    """The defaults for this business: scheduled in its time zone, the executives in its language."""
    cfo, coo = EXECUTIVES[business.locale]
    return [
        {
            **values,
            "time_zone": business.time_zone,
            "recipient_query": values["recipient_query"]
            .replace("{locale}", business.locale)
            .replace("{cfo}", cfo)
            .replace("{coo}", coo),
        }
        for values in DEFAULT_SUBSCRIPTIONS
    ]
