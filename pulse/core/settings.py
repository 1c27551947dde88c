"""All of Pulse's settings, in one place.

Every setting comes from a `PULSE_*` environment variable (or a `.env` file) and has an embedded
default, so a fresh clone runs with no configuration at all. Production changes only these values.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pulse.core.business import PROFILES, Business, DemoProfile, WeekStart, check_currency
from pulse.core.schedule import check_time_zone
from pulse.core.secrets import persistent_secret
from pulse.core.vocabulary import LOCALES


class WarehouseUser(BaseModel):
    """A user of the embedded warehouse server. Only the SHA-256 of the password is kept.

    Deny by default: a user reads only the databases and tables granted to it, through no table function;
    `admin` (Pulse's own loaders and dbt) may do everything, table functions included.
    """

    password_sha256_hex: str = Field(description="hex SHA-256 of the password")
    admin: bool = False
    databases: list[str] = Field(default_factory=list, description="databases whose every table it may read")
    tables: list[str] = Field(default_factory=list, description="single tables it may read, as db.table")
    row_filter: str | None = Field(default=None, description="condition every row of its tables must meet")

    @property
    def readonly(self) -> bool:
        return not self.admin

    def check(self, password: str) -> bool:
        candidate = hashlib.sha256(password.encode()).hexdigest()
        return secrets.compare_digest(candidate, self.password_sha256_hex)


READER_USER = "pulse_reader"
ADMIN_USER = "default"
# What the read-only user reads: the marts, nothing below them (never `raw`, staging or intermediate).
READER_DATABASES = ("marts",)
# The marts a hospital's own identity may read, each filtered to its hospitals' rows (warehouse/access.py).
HOSPITAL_TABLES = (
    "marts.mart_hospital_commissions_monthly",
    "marts.mart_vending_daily",
    "marts.mart_machine_stock",
    "marts.mart_machine_product_daily",
    "marts.mart_machine_daily",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path(".pulse"), description="Where all embedded state lives.")

    # Warehouse (ClickHouse). Clients use the URL; the embedded server listens on its host and port.
    clickhouse_url: str = Field(
        default="http://default:@127.0.0.1:8123",
        description="ClickHouse HTTP endpoint, with user and password, used by every Pulse client.",
    )
    clickhouse_cluster: str | None = Field(
        default=None,
        description="ClickHouse cluster (a `remote_servers` name) on which Pulse and dbt create every database and "
        "table: ON CLUSTER, with Replicated* engines. None for one server (the embedded one): docs/production.md.",
    )
    warehouse_users: dict[str, WarehouseUser] | None = Field(
        default=None,
        description="Embedded server users as JSON {name: {password_sha256_hex, admin, databases, tables, "
        "row_filter}}. Default: the admin `default` and the read-only `pulse_reader` (marts only), each with "
        "a password generated into PULSE_HOME/secrets, plus one identity per hospital set (pulse_hospital_<id>).",
    )
    warehouse_hospital_key: SecretStr | None = Field(
        default=None,
        description="Key from which each hospital identity's warehouse password is derived (HMAC-SHA256). "
        "Default: generated once and kept in PULSE_HOME/secrets.",
    )
    warehouse_reader_password: str | None = Field(
        default=None,
        description="Password of the read-only `pulse_reader` user (dashboards). "
        "Default: generated once and kept in PULSE_HOME/secrets.",
    )
    warehouse_max_body_bytes: int = Field(
        default=8 * 1024**3, description="Largest request body the embedded server accepts."
    )
    warehouse_max_concurrent_queries: int = Field(
        default=32, description="Queries the embedded server runs at once; more are refused."
    )
    warehouse_queue_wait_seconds: float = Field(
        default=10.0, description="How long a query waits for a free slot before it is refused."
    )
    warehouse_session_timeout: int = Field(
        default=60, description="Default idle seconds before an HTTP session expires."
    )
    warehouse_max_session_timeout: int = Field(
        default=3600, description="Largest session_timeout a client may ask for."
    )

    # Operational API and store (operational_api/).
    ops_database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the operational store. Default: SQLite (WAL) at PULSE_HOME/ops.db; "
        "PostgreSQL as postgresql+psycopg://user:password@host/db.",
    )
    ops_secret_key: SecretStr | None = Field(
        default=None,
        description="Server-side pepper mixed into customer PIN hashes. "
        "Default: generated once and kept in PULSE_HOME/secrets.",
    )
    api_host: str = Field(default="127.0.0.1", description="Address `pulse api serve` listens on.")
    api_port: int = Field(default=8000, description="Port `pulse api serve` listens on.")
    api_max_body_bytes: int = Field(
        default=16 * 1024**2, description="Largest request body the operational API accepts (else 413)."
    )

    extract_compression: str | None = Field(
        default=None,
        description="HTTP compression for extract-load inserts: none on loopback (fastest), lz4 or zstd "
        "across a network.",
    )
    landing_url: str | None = Field(
        default=None,
        description="Where feed files land: any fsspec URL (s3://..., https://...). Default: PULSE_HOME/landing.",
    )
    extract_batch_rows: int = Field(default=1_000_000, description="Rows per extraction batch (one watermark step).")
    extract_insert_rows: int = Field(
        default=1_000_000,
        description="Rows per HTTP insert within a batch (streamed; fewer, bigger inserts leave fewer parts to merge).",
    )
    extract_reader_process_rows: int = Field(
        default=100_000,
        description="Pending rows from which a SQLite table is read by the warehouse itself or the columnar reader "
        "process (connectorx) rather than in-process; 0: always.",
    )
    extract_warehouse_read: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="Let the warehouse read a SQLite store itself (INSERT ... SELECT FROM sqlite(), as its admin): "
        "auto = when the server can open the same file (the embedded one on this machine), else Arrow over HTTP; "
        "always = fail if it cannot; never = always Arrow over HTTP.",
    )
    extract_page_read: Literal["auto", "never"] = Field(
        default="auto",
        description="Copy big backlogs of a SQLite store from its pages (the pulse-sqlite-pages reader `make` builds, "
        "which reads the file's B-trees and sends Native blocks): auto = when the reader is built and the store is a "
        "SQLite file here, a table it cannot copy exactly going by the next route; never = the warehouse reads the store "
        "(PULSE_EXTRACT_WAREHOUSE_READ) or Arrow over HTTP.",
    )
    extract_warehouse_streams: int = Field(
        default=2,
        ge=1,
        description="Inserts (and tables) at once for big backlogs of a SQLite store: page copies, or INSERT ... SELECT "
        "statements each over its own change_seq range (the engine reads SQLite on one thread per statement), so "
        "about one per core.",
    )

    # Report delivery (reports/): SMTP relay or the embedded sink, unsubscribe links, retries.
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server reports are sent through.")
    smtp_port: int = Field(
        default=1025, description="Its port (the embedded sink listens here; relays use 587 or 465)."
    )
    smtp_user: str | None = Field(default=None, description="SMTP login; none = no AUTH.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_tls: Literal["none", "starttls", "ssl"] = Field(
        default="none", description="none (the loopback sink), starttls (port 587) or ssl (implicit TLS, port 465)."
    )
    smtp_from: str = Field(
        default="Pulse Reports <reports@pulse.localhost>", description="From address of every report email."
    )
    smtp_sink: bool = Field(
        default=True,
        description="Run the embedded SMTP sink (stores every message in PULSE_HOME/outbox) on "
        "PULSE_SMTP_HOST:PULSE_SMTP_PORT with the platform; false when sending through a relay.",
    )
    reports_workers: int = Field(default=2, description="Processes rendering and sending reports in parallel.")
    reports_public_url: str | None = Field(
        default=None,
        description="Public base URL of the operational API, for unsubscribe links. "
        "Default: http://PULSE_API_HOST:PULSE_API_PORT.",
    )
    reports_secret_key: SecretStr | None = Field(
        default=None,
        description="Key signing unsubscribe links (HMAC-SHA256). "
        "Default: generated once and kept in PULSE_HOME/secrets.",
    )
    reports_executives: str | None = Field(
        default=None,
        description="Who gets the executive weekly summary by default: `email, locale, name` per line (or separated "
        "by `;`). Default: ceo@, cfo@ and coo@pulse.example.com, to replace.",
    )
    reports_receivables_email: str = Field(
        default="receivables@pulse.example.com",
        description="Where counterparty statements go by default (the store keeps no counterparty address).",
    )
    reports_manage_link_days: int = Field(
        default=45, ge=1, le=366, description="Days the link in a statement email to the recipient's page works."
    )
    portal_session_idle_minutes: int = Field(
        default=30, ge=1, description="A portal session ends after this long without a request."
    )
    portal_session_hours: int = Field(default=12, ge=1, description="A portal session ends this long after sign-in.")
    portal_sign_in_attempts: int = Field(
        default=5, ge=1, description="Failed sign-ins (per account, and per address) before sign-in is refused."
    )
    portal_lockout_minutes: int = Field(
        default=15, ge=1, description="How long sign-in stays refused after too many failures."
    )
    alerts_interval_seconds: float = Field(
        default=10.0,
        ge=0.2,
        le=3600,
        description="How often the alerts service evaluates the operational alert rules "
        "and sends what is due (an event reaches its recipients within about this long).",
    )
    alerts_owner_email: str = Field(
        default="owner@pulse.example.com",
        description="Who the default alert rules (created by `pulse up`) email: comma-separated addresses.",
    )
    alerts_webhook_url: SecretStr | None = Field(
        default=None, description="A webhook (Slack, Telegram or any JSON receiver) the default alert rules also call."
    )
    alerts_webhook_private_hosts: str = Field(
        default="",
        description="Hosts on loopback or private networks alert webhooks may call (comma-separated). Any other "
        "such address is refused, so that no alert rule can make Pulse post to the warehouse or another "
        "internal service.",
    )
    alerts_max_attempts: int = Field(
        default=12, ge=1, description="Attempts per alert email or webhook call before it fails for good."
    )
    alerts_retry_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Wait before an alert notice's first retry; doubles with every attempt (at most an hour).",
    )
    alerts_webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="How long a webhook receiver has to answer."
    )
    reports_max_attempts: int = Field(
        default=5, description="Send attempts per recipient and period before a delivery fails for good."
    )
    reports_retry_seconds: int = Field(
        default=30, description="Wait before the first retry of a failed delivery; doubles with every attempt."
    )

    demo_profile: DemoProfile = Field(
        default="ru-clinics",
        description="The business `pulse demo` simulates: `ru-clinics` (clinics, a call centre and hospital vending "
        "in RUB, with invoices in four other currencies: every dashboard has data) or `us-vending` (136 US "
        "hospitals in USD). The business settings below default to its values.",
    )
    reporting_currency: str | None = Field(
        default=None,
        description="ISO 4217 code every amount is reported in (converted at the rate of its day). Default: the demo "
        "profile's (RUB, USD).",
    )
    company_time_zone: str | None = Field(
        default=None,
        description="IANA time zone of the company's day: call centre, marketing, executive weeks. Default: the demo "
        "profile's (Europe/Moscow, America/New_York).",
    )
    default_locale: str | None = Field(
        default=None,
        description="Language (`en`, `ru`) of recipients without one of their own and of Superset. Default: the demo profile's.",
    )
    week_start: WeekStart | None = Field(
        default=None, description="First day of the week: `monday` or `sunday`. Default: the demo profile's."
    )
    fiscal_year_start_month: int | None = Field(
        default=None,
        ge=1,
        le=12,
        description="Month the fiscal year starts in (1 = calendar year; with 7, FY2027 is July 2026 - June 2027). "
        "Default: the demo profile's (1, 7).",
    )
    demo_mixed_currencies: bool = Field(
        default=True,
        description="`pulse demo` keeps a share of customer accounts (their vends and top-ups) and of deals in foreign "
        "currencies, converted to the reporting currency at the rate of their day.",
    )
    demo_days: int = Field(default=365, description="Days of history `pulse demo` simulates into an empty store.")
    demo_scale: float = Field(default=0.25, description="Business size `pulse demo` simulates (1.0 = 136 hospitals).")
    airflow_port: int = Field(default=8080, description="Port of Airflow's web UI and API (`pulse airflow serve`).")
    airflow_retries: int = Field(default=3, description="Retries (with exponential backoff) of every DAG task.")
    elt_schedule: str = Field(
        default="@hourly",
        description="Schedule of the `pulse_elt` DAG (cron or preset). `pulse demo` runs it every 10 minutes "
        "unless this is set.",
    )
    dbt_docs_port: int = Field(
        default=8081, description="Port of the dbt docs site (`pulse dbt-docs start`; `pulse demo` serves it)."
    )

    # Superset (dashboards): runs in .venv-superset; `pulse superset init|import|serve|start|stop`.
    superset_port: int = Field(
        default=8088, description="Port Superset listens on (`pulse superset serve`, `pulse superset start`)."
    )
    superset_database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of Superset's metadata database. Default: SQLite at "
        "PULSE_HOME/superset/superset.db; PostgreSQL as postgresql+psycopg2://user:password@host/db.",
    )
    superset_secret_key: SecretStr | None = Field(
        default=None,
        description="Signs Superset's sessions and encrypts the warehouse password it stores. "
        "Default: generated once and kept in PULSE_HOME/secrets.",
    )
    superset_admin_user: str = Field(
        default="admin", description="Superset administrator `pulse superset init` creates and `import` signs in as."
    )
    superset_admin_password: SecretStr | None = Field(
        default=None,
        description="Password of the Superset administrator. Default: generated once and kept in PULSE_HOME/secrets.",
    )
    superset_workers: int = Field(default=2, description="Gunicorn worker processes serving Superset (8 threads each).")
    superset_cache_timeout: int = Field(
        default=600, description="Seconds Superset serves chart data from its cache before asking the warehouse again."
    )
    superset_cache_redis_url: str | None = Field(
        default=None,
        description="Redis URL for Superset's caches, shared by all workers and hosts. Default: files under "
        "PULSE_HOME/superset/cache.",
    )

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @field_validator("clickhouse_cluster")
    @classmethod
    def _cluster_name(cls, value: str | None) -> str | None:
        # It is spliced into DDL (ON CLUSTER '...') and dbt's profile: a name or a {macro}, nothing to escape.
        if value is None or not value.strip():
            return None
        if not re.fullmatch(r"[A-Za-z0-9_.{}-]+", value.strip()):
            raise ValueError(f"{value!r} is not a cluster name: letters, digits, _ . - and {{macros}} only")
        return value.strip()

    @field_validator("reporting_currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return None if value is None else check_currency(value)

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        if value is not None and value not in LOCALES:
            raise ValueError(f"{value!r} is not a report language: one of {', '.join(LOCALES)}")
        return value

    @field_validator("company_time_zone")
    @classmethod
    def _time_zone(cls, value: str | None) -> str | None:
        return None if value is None else check_time_zone(value)

    @property
    def business(self) -> Business:
        """The business settings, each unset one taken from the demo profile."""
        profile = PROFILES[self.demo_profile]
        return Business(
            currency=self.reporting_currency or profile.currency,
            time_zone=self.company_time_zone or profile.time_zone,
            locale=self.default_locale or profile.locale,
            week_start=self.week_start or profile.week_start,
            fiscal_year_start_month=self.fiscal_year_start_month or profile.fiscal_year_start_month,
        )

    @property
    def clickhouse_host(self) -> str:
        return urlsplit(self.clickhouse_url).hostname or "127.0.0.1"

    @property
    def clickhouse_port(self) -> int:
        return urlsplit(self.clickhouse_url).port or 8123

    @property
    def clickhouse_user(self) -> str:
        return urlsplit(self.clickhouse_url).username or "default"

    @property
    def clickhouse_password(self) -> str:
        """The URL's password; for the embedded admin without one, its generated password."""
        password = urlsplit(self.clickhouse_url).password
        if password:
            return password
        return self.admin_password() if self.clickhouse_user == ADMIN_USER else ""

    def admin_password(self) -> str:
        return persistent_secret(self.secrets_dir / "warehouse_default_password")

    def hospital_key(self) -> str:
        if self.warehouse_hospital_key is not None:
            return self.warehouse_hospital_key.get_secret_value()
        return persistent_secret(self.secrets_dir / "warehouse_hospital_key")

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"

    @property
    def landing_dir(self) -> Path:
        """Where external feeds land, one folder per feed (the simulator writes them; extract-load reads)."""
        return self.home / "landing"

    @property
    def resolved_landing_url(self) -> str:
        return self.landing_url or str(self.landing_dir)

    def reader_password(self) -> str:
        """The read-only user's password: from the environment, else generated once per PULSE_HOME."""
        if self.warehouse_reader_password:
            return self.warehouse_reader_password
        return persistent_secret(self.secrets_dir / "warehouse_reader_password")

    def resolved_warehouse_users(self) -> dict[str, WarehouseUser]:
        if self.warehouse_users is not None:
            return self.warehouse_users
        admin_password = self.clickhouse_password if self.clickhouse_user == ADMIN_USER else self.admin_password()
        return {
            ADMIN_USER: WarehouseUser(password_sha256_hex=_sha256(admin_password), admin=True),
            READER_USER: WarehouseUser(
                password_sha256_hex=_sha256(self.reader_password()),
                databases=list(READER_DATABASES),
            ),
        }


_URL_PASSWORD = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:@/\s]*):(?P<password>[^@/\s]+)@")
_JSON_SECRET = re.compile(r'("password_sha256_hex":\s*")[0-9a-fA-F]+')


def masked(text: str) -> str:
    """Text with every password inside a URL (and every password hash) replaced by ***, for display."""
    return _JSON_SECRET.sub(r"\1***", _URL_PASSWORD.sub(r"\g<scheme>\g<user>:***@", text))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@lru_cache
def get_settings() -> Settings:
    return Settings()


def settings_table() -> list[tuple[str, str, str]]:
    """(env var, default, description) for every setting: `pulse settings` and docs/settings.md."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = json.dumps(default) if isinstance(default, dict | list) else str(default)
        rows.append((f"PULSE_{name.upper()}", shown, field.description or ""))
    return rows


# docs/settings.md is this text; tests/test_project.py fails when the page and the settings disagree.
SETTINGS_PAGE = "docs/settings.md"
REGENERATE_SETTINGS_PAGE = ".venv/bin/pulse settings --markdown > docs/settings.md"
_CODE_SPAN = re.compile(r"(`[^`]*`)")


def _markdown_cell(text: str) -> str:
    """Text for a Markdown table cell: pipes escaped everywhere, `<` and `*` outside code spans."""
    parts = _CODE_SPAN.split(text)
    escaped = [part if part.startswith("`") else part.replace("<", r"\<").replace("*", r"\*") for part in parts]
    return "".join(escaped).replace("|", r"\|")


def _markdown_default(default: object) -> str:
    if default is None:
        return "unset"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    shown = json.dumps(default) if isinstance(default, dict | list) else str(default)
    return f"`{shown}`"


def settings_markdown() -> str:
    """docs/settings.md: every setting, its default and what it means, generated from `Settings` (`pulse settings
    --markdown`)."""
    lines = [
        "# Settings",
        "",
        "Generated from `pulse/core/settings.py`, do not edit by hand: after adding or changing a setting, run",
        f"`{REGENERATE_SETTINGS_PAGE}` (`tests/test_project.py` fails until this page matches).",
        "",
        "Every setting is an environment variable, or a line in a `.env` file in the working directory, and has an",
        "embedded default, so a fresh clone runs with no configuration; production changes only these values",
        "([production.md](production.md)). `pulse settings` shows the current values, passwords masked. A default of",
        "*unset* means the variable has no value unless given; the meaning says what Pulse does then.",
        "",
        "| variable | default | meaning |",
        "| --- | --- | --- |",
    ]
    for name, field in Settings.model_fields.items():
        cells = (f"`PULSE_{name.upper()}`", _markdown_default(field.default), _markdown_cell(field.description or ""))
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"
