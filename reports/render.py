"""Rendering reports to PDF (Jinja2 + WeasyPrint) and to the HTML body of the email that carries them.

Built for volume: one `Renderer` per process keeps the Jinja environment (templates compiled once), the parsed
stylesheet and WeasyPrint's font configuration, so rendering a statement is only layout and PDF writing. A
subscription run loads the data for all recipients in one batch (`reports.data.load_many`) and hands the
picklable data objects to `render_pdf` in a process pool; `render_report` is the one-recipient shortcut.
`render_attachments` turns the same data into the CSV/XLSX files a subscription may attach beside the PDF.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urljoin

from clickhouse_connect.driver.client import Client
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from pulse.core.vocabulary import LOCALES
from reports.catalogue import ReportData, tables_for, view_for
from reports.charts import column_chart, paired_bars, sparkline
from reports.data import check_kind_and_locale, load_many, load_report_data
from reports.data_common import ReportDataError
from reports.formatting import Formatter
from reports.messages import messages
from reports.table_files import Attachment, stem_of, table_attachments
from reports.views import ReportView, arrow, change_class

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "report_templates"
STYLESHEET = TEMPLATES_DIR / "statement.css"

__all__ = [
    "Attachment",
    "RenderedReport",
    "Renderer",
    "ReportData",
    "ReportDataError",
    "load_many",
    "load_report_data",
    "render_attachments",
    "render_html",
    "render_pdf",
    "render_report",
]


@dataclass(frozen=True)
class RenderedReport:
    pdf: bytes
    subject: str
    html_body: str
    filename: str
    pages: int
    attachments: tuple[Attachment, ...] = ()  # after the PDF: the statement's tables as CSV/XLSX, if asked for


class Renderer:
    """Everything expensive to set up, set up once: templates, stylesheets, fonts."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(
            column_chart=column_chart, paired_bars=paired_bars, sparkline=sparkline,
            arrow=arrow, change_class=change_class,
        )  # fmt: skip
        self.css_text = STYLESHEET.read_text(encoding="utf-8")
        self.font_config = FontConfiguration()
        self.stylesheet = CSS(string=self.css_text, font_config=self.font_config, base_url=str(TEMPLATES_DIR))
        # "Page X of Y" in the page margin cannot come from the HTML: one tiny sheet per locale.
        self.page_css_text = {locale: page_number_css(locale) for locale in LOCALES}
        self.page_stylesheets = {
            locale: CSS(string=text, font_config=self.font_config) for locale, text in self.page_css_text.items()
        }
        self.formatters = {locale: Formatter(locale) for locale in LOCALES}

    def html(self, data: ReportData, locale: str, *, standalone: bool = True, today: dt.date | None = None) -> str:
        """The report as HTML. `standalone` inlines the stylesheet (for a browser or an archive); the PDF path
        leaves it out and applies the pre-parsed sheet instead."""
        view = view_for(data, self.formatters[locale], messages(locale))
        inline_css = f"{self.css_text}\n{self.page_css_text[locale]}" if standalone else ""
        return self.env.get_template(f"{data.kind}.html").render(
            self._context(view, locale, today), data=data, inline_css=inline_css
        )

    def pdf(
        self,
        data: ReportData,
        locale: str,
        *,
        unsubscribe_url: str | None = None,
        manage_url: str | None = None,
        today: dt.date | None = None,
        attachments: Sequence[str] = (),
    ) -> RenderedReport:
        view = view_for(data, self.formatters[locale], messages(locale))
        html = self.env.get_template(f"{data.kind}.html").render(
            self._context(view, locale, today), data=data, inline_css=""
        )
        document = HTML(string=html, base_url=str(TEMPLATES_DIR)).render(
            stylesheets=[self.stylesheet, self.page_stylesheets[locale]], font_config=self.font_config
        )
        body = self.env.get_template("email_body.html").render(
            self._context(view, locale, today), unsubscribe_url=unsubscribe_url, manage_url=manage_url
        )
        return RenderedReport(
            pdf=document.write_pdf(),
            subject=view.subject,
            html_body=body,
            filename=view.filename,
            pages=len(document.pages),
            attachments=self.attachments(data, locale, attachments, stem_of(view.filename)) if attachments else (),
        )

    def attachments(self, data: ReportData, locale: str, formats: Sequence[str], stem: str) -> tuple[Attachment, ...]:
        return table_attachments(tables_for(data, locale), formats, stem)

    def _context(self, view: ReportView, locale: str, today: dt.date | None) -> dict[str, object]:
        return {
            "locale": locale,
            "kind": view.kind,
            "t": messages(locale),
            "fmt": self.formatters[locale],
            "title": view.title,
            "subject": view.subject,
            "reference": view.reference,
            "period_label": view.period_label,
            "period_in_sentence": view.period_in_sentence,
            "period_start": view.period_start,
            "period_end": view.period_end,
            "generated_on": today or dt.date.today(),
            "name": view.recipient_name,
            "key_totals": view.key_totals,
            **view.extra,
        }


def page_number_css(locale: str) -> str:
    t = messages(locale)
    return (
        "@page { @bottom-right { content: "
        f'"{t("common.page")} " counter(page) " {t("common.of")} " counter(pages); }} }}'
    )


@lru_cache(maxsize=1)
def get_renderer() -> Renderer:
    """The process's renderer (each process-pool worker builds its own on first use)."""
    return Renderer()


def render_html(kind: str, data: ReportData, locale: str) -> str:
    """Standalone HTML of a report (stylesheet inlined): what a browser would print."""
    check_kind_and_locale(kind, data.params, locale)
    _check_data_kind(kind, data)
    return get_renderer().html(data, locale, standalone=True)


def render_pdf(
    kind: str,
    data: ReportData,
    locale: str,
    *,
    base_url_for_unsubscribe: str | None = None,
    unsubscribe_url: str | None = None,
    manage_url: str | None = None,
    attachments: Sequence[str] = (),
) -> RenderedReport:
    """Render loaded data (no warehouse access): the unit of work for a process pool. `attachments` (csv, xlsx)
    adds the statement's tables as those files, named after the PDF; `manage_url` links the email to the
    recipient's own subscriptions page."""
    check_kind_and_locale(kind, data.params, locale)
    _check_data_kind(kind, data)
    return get_renderer().pdf(
        data,
        locale,
        unsubscribe_url=_unsubscribe_link(base_url_for_unsubscribe, unsubscribe_url),
        manage_url=manage_url,
        attachments=attachments,
    )


def render_attachments(
    kind: str, data: ReportData, locale: str, formats: Sequence[str], *, stem: str | None = None
) -> tuple[Attachment, ...]:
    """The statement's tables as files of `formats` (csv, xlsx) without rendering the PDF; named after the PDF's
    file name unless `stem` says otherwise (<stem>.xlsx, <stem>-<table>.csv)."""
    check_kind_and_locale(kind, data.params, locale)
    _check_data_kind(kind, data)
    renderer = get_renderer()
    if stem is None:
        stem = stem_of(view_for(data, renderer.formatters[locale], messages(locale)).filename)
    return renderer.attachments(data, locale, formats, stem)


def render_report(
    client: Client,
    kind: str,
    params: Mapping[str, str],
    locale: str,
    *,
    base_url_for_unsubscribe: str | None = None,
    unsubscribe_url: str | None = None,
    attachments: Sequence[str] = (),
) -> RenderedReport:
    """Load one recipient's data from the marts and render it; ReportDataError when it cannot be correct."""
    data = load_report_data(client, kind, params, locale)
    return render_pdf(kind, data, locale, base_url_for_unsubscribe=base_url_for_unsubscribe,
                      unsubscribe_url=unsubscribe_url, attachments=attachments)  # fmt: skip


def _unsubscribe_link(base_url: str | None, url: str | None) -> str | None:
    """The recipient's unsubscribe link; a relative `url` (e.g. /v1/unsubscribe/<token>) is resolved against
    `base_url` (the operational API's public address)."""
    if url is None:
        return None
    return urljoin(base_url, url) if base_url else url


def _check_data_kind(kind: str, data: ReportData) -> None:
    if data.kind != kind:
        raise ReportDataError(
            kind, data.params, f"data loaded for {data.kind} cannot render as {kind}", hint=f"render it as {data.kind}"
        )
