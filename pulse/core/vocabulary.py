"""Words every layer shares, defined once: the store's enums, the API's schemas, the renderer and the subscriptions
read them from here."""

from __future__ import annotations

# The languages reports, statements and customer messages are written in.
LOCALES = ("en", "ru")
# The reports Pulse renders and subscriptions may ask for (reports/kinds.py says what each one needs).
REPORT_KINDS = ("hospital_statement", "customer_statement", "executive_weekly", "counterparty_statement")
