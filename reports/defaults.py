"""The subscriptions `pulse reports seed-defaults` creates: one per report, each from an audience preset
(operational_api/services/audiences.py), so the portal opens them with the preset chosen.

Schedules are in the company's time zone (PULSE_COMPANY_TIME_ZONE, as the marts): monthly statements early on the
1st for the month before (the sales reps' on the 2nd), the executive summary on Monday morning for the business
week before. The executives are PULSE_REPORTS_EXECUTIVES (else three addresses at pulse.example.com to replace, in
the business's language, the chief executive in English); counterparty statements go to
PULSE_REPORTS_RECEIVABLES_EMAIL, because the store keeps no address of a counterparty: that team forwards them.
A report manager changes any of it in the portal.
"""

from __future__ import annotations

from typing import Any

from pulse.core.settings import Settings

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
        "audience": {"preset": "hospital_contacts"},
    },
    {
        "name": "customer-monthly-statements",
        "description": "Monthly account statement to every customer who agreed to statements by email.",
        "report_kind": "customer_statement",
        "cron": "0 8 1 * *",
        "audience": {"preset": "consenting_customers"},
    },
    {
        "name": "executive-weekly-summary",
        "description": "Weekly KPI summary for the executives.",
        "report_kind": "executive_weekly",
        "cron": "0 8 * * 1",
        "audience": {"preset": "static_list"},  # the list: PULSE_REPORTS_EXECUTIVES
    },
    {
        "name": "counterparty-monthly-statements",
        "description": "Monthly settlement statement of every counterparty, to the receivables team.",
        "report_kind": "counterparty_statement",
        "cron": "0 9 2 * *",
        "audience": {"preset": "counterparties"},  # the address: PULSE_REPORTS_RECEIVABLES_EMAIL
    },
    {
        "name": "sales-rep-monthly-statements",
        "description": "Monthly territory statement to every active sales rep with a territory, in their language.",
        "report_kind": "sales_rep_statement",
        # The 2nd, not the 1st: a machine offline at month end uploads its buffered vends within a day, and the
        # trend against the month before should compare whole months.
        "cron": "0 7 2 * *",
        "audience": {"preset": "sales_reps"},
    },
]


def executives(settings: Settings) -> str:
    """The executives as a static list (`email, locale, name` per line)."""
    if settings.reports_executives:
        return settings.reports_executives.replace(";", "\n")
    locale = settings.business.locale
    cfo, coo = EXECUTIVES[locale]
    return (
        "ceo@pulse.example.com, en, Chief Executive\n"
        f"cfo@pulse.example.com, {locale}, {cfo}\n"
        f"coo@pulse.example.com, {locale}, {coo}"
    )


def default_subscriptions(settings: Settings) -> list[dict[str, Any]]:
    """The defaults for this business: scheduled in its time zone, to its executives and receivables team."""
    choices = {"static_list": {"recipients": executives(settings)},
               "counterparties": {"email": settings.reports_receivables_email}}  # fmt: skip
    return [
        {
            **values,
            "time_zone": settings.business.time_zone,
            "audience": {**values["audience"], **choices.get(values["audience"]["preset"], {})},
        }
        for values in DEFAULT_SUBSCRIPTIONS
    ]
