"""The message catalogue: every label a report prints, per locale, in `report_templates/messages/<locale>.yml`.

Keys are dotted paths (`customer.title`); values are `str.format` templates (`"Page {page}"`). A key missing
from a locale is an error at load time (the catalogues must have the same keys), never a blank label.
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

from pulse.core.vocabulary import LOCALES

MESSAGES_DIR = Path(__file__).resolve().parent.parent / "report_templates" / "messages"


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{path}."))
        else:
            flat[path] = str(value)
    return flat


class Messages:
    """Labels of one locale: `t("customer.title")`, `t("email.greeting", name="Anna")`."""

    def __init__(self, locale: str, catalogue: dict[str, str]) -> None:
        self.locale = locale
        self.catalogue = catalogue

    def __call__(self, key: str, **values: Any) -> str:
        try:
            text = self.catalogue[key]
        except KeyError:
            raise KeyError(f"no message {key!r} in {MESSAGES_DIR / self.locale}.yml") from None
        return text.format(**values) if values else text


@cache
def messages(locale: str) -> Messages:
    return load_catalogues()[locale]


@lru_cache(maxsize=1)
def load_catalogues() -> dict[str, Messages]:
    catalogues = {
        locale: _flatten(yaml.safe_load((MESSAGES_DIR / f"{locale}.yml").read_text(encoding="utf-8")))
        for locale in LOCALES
    }
    keys = {locale: set(catalogue) for locale, catalogue in catalogues.items()}
    reference = keys[LOCALES[0]]
    for locale, have in keys.items():
        if have != reference:
            raise ValueError(
                f"message catalogue {locale}.yml differs from {LOCALES[0]}.yml: "
                f"missing {sorted(reference - have)}, extra {sorted(have - reference)}"
            )
    return {locale: Messages(locale, catalogue) for locale, catalogue in catalogues.items()}
