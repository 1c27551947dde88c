"""Words every layer shares, defined once: the store's enums, the API's schemas, the renderer and the subscriptions
read them from here (the report kinds have a module of their own: pulse.core.report_kinds)."""

from __future__ import annotations

# The languages reports, statements and customer messages are written in.
LOCALES = ("en", "ru")
