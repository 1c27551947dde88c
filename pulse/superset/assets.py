"""Dashboards as code: `superset_assets/` (Superset's own export format, as YAML) to an import bundle and back.

The YAML holds only what a person decides; the importer completes it, and the exporter removes the same parts
again, so `pulse superset export` right after `pulse superset import` rewrites the files unchanged:

- the database's address and user come from PULSE_CLICKHOUSE_URL and the read-only `pulse_reader` (the YAML
  says `127.0.0.1:8123`), its password is sent apart (`passwords`) and never written;
- a dataset's columns (name, type, temporal or not, description, a readable name) and its description come from
  the dbt model's YAML docs, so they are written once, in dbt; the dataset YAML keeps only overrides and extra
  calculated columns;
- a dataset's metrics are the model's metrics layer (`pulse.metrics`, `config.meta.metrics` in the dbt YAML):
  expression, label, format and description are generated, and a dataset file may not declare any;
- every field left out means Superset's default (the importer fills it in, so an edit made in the UI and not
  exported is reset by the next import; the exporter drops fields that equal their default);
- a chart's `query_context` is built from its `params` (`pulse.superset.query_context`), and ids, which differ
  between Superset instances (`params.datasource`, `slice_id`, a dashboard's `chartId`s), are replaced by stable
  numbers derived from each chart's uuid; native filters' `chartsInScope` / `tabsInScope`, which the UI
  recomputes, are dropped.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from pulse import metrics as metrics_layer
from pulse.core.business import number_format
from pulse.core.console import PulseError
from pulse.core.paths import SUPERSET_ASSETS_DIR
from pulse.core.settings import READER_USER, Settings, get_settings
from pulse.superset import query_context as superset_query_context
from pulse.superset.api import SupersetClient
from pulse.superset.security import AppliedSecurity, apply_security, load_security

ASSETS_DIR = SUPERSET_ASSETS_DIR
BUNDLE_ROOT = "pulse_assets"
EXPORT_VERSION = "1.0.0"
MASKED_PASSWORD = "XXXXXXXXXX"  # noqa: S105 - the mask Superset writes in place of a password
CANONICAL_NETLOC = f"{READER_USER}:{MASKED_PASSWORD}@127.0.0.1:8123"
KINDS = ("databases", "datasets", "charts", "dashboards")

DATABASE_DEFAULTS: dict[str, Any] = {
    "cache_timeout": None,
    "expose_in_sqllab": True,
    "allow_run_async": False,
    "allow_ctas": False,
    "allow_cvas": False,
    "allow_dml": False,
    "allow_csv_upload": False,
    "extra": {},
    "impersonate_user": False,
    "configuration_method": "sqlalchemy_form",
}
DATASET_DEFAULTS: dict[str, Any] = {
    "main_dttm_col": None,
    "currency_code_column": None,
    "description": None,
    "default_endpoint": None,
    "offset": 0,
    "cache_timeout": None,
    "catalog": None,
    "schema": None,
    "sql": None,
    "params": None,
    "template_params": None,
    "filter_select_enabled": True,
    "fetch_values_predicate": None,
    "extra": None,
    "normalize_columns": False,
    "always_filter_main_dttm": False,
    "folders": None,
}
COLUMN_DEFAULTS: dict[str, Any] = {
    "verbose_name": None,
    "is_dttm": False,
    "is_active": True,
    "type": None,
    "advanced_data_type": None,
    "groupby": True,
    "filterable": True,
    "expression": None,
    "description": None,
    "python_date_format": None,
    "datetime_format": None,
    "extra": None,
}
METRIC_DEFAULTS: dict[str, Any] = {
    "verbose_name": None,
    "metric_type": None,
    "description": None,
    "d3format": None,
    "currency": None,
    "extra": None,
    "warning_text": None,
}
CHART_DEFAULTS: dict[str, Any] = {
    "description": None,
    "certified_by": None,
    "certification_details": None,
    "cache_timeout": None,
}
DASHBOARD_DEFAULTS: dict[str, Any] = {
    "description": None,
    "css": "",
    "slug": None,
    "certified_by": None,
    "certification_details": None,
    "published": True,
    "theme_uuid": None,
}
# Keys Superset adds to an export that carry no decision of anyone's.
VOLATILE_KEYS = {"is_managed_externally", "external_url"}


# -- dbt docs ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnDoc:
    name: str
    description: str | None
    data_type: str | None


@dataclass(frozen=True)
class ModelDoc:
    name: str
    description: str | None
    columns: tuple[ColumnDoc, ...]
    metrics: tuple[metrics_layer.Metric, ...] = ()


def load_dbt_docs(models_dir: Path = metrics_layer.MARTS_DIR) -> dict[str, ModelDoc]:
    """Every model documented in the dbt project's YAML files (the marts), by name, with its metrics."""
    docs: dict[str, ModelDoc] = {}
    for path, model in metrics_layer.model_yamls(models_dir):
        columns = tuple(
            ColumnDoc(c["name"], _clean(c.get("description")), c.get("data_type")) for c in model.get("columns") or []
        )
        metrics = tuple(metrics_layer.model_metrics(path, model))
        docs[model["name"]] = ModelDoc(model["name"], _clean(model.get("description")), columns, metrics)
    return docs


def _clean(text: str | None) -> str | None:
    return " ".join(text.split()) if text else None


TEMPORAL_TYPE = re.compile(r"^(Nullable\()?(Date|Date32|DateTime|DateTime64)\b")


def readable_name(column: str, currency: str) -> str:
    """`net_sales_reporting` -> `Net sales, USD` (in the reporting currency): what header tables and tooltips show."""
    words = column.split("_")
    unit = ""
    if words[-1] == "reporting" and len(words) > 1:
        words, unit = words[:-1], f", {currency}"
    words = [{"id": "ID", "avg": "average", "pct": "%"}.get(w, w) for w in words]
    return " ".join(words).capitalize().replace(" id", " ID") + unit


def generated_columns(doc: ModelDoc) -> list[dict[str, Any]]:
    currency = get_settings().business.currency
    return [
        {
            "column_name": c.name,
            **COLUMN_DEFAULTS,
            "verbose_name": readable_name(c.name, currency),
            "is_dttm": bool(c.data_type and TEMPORAL_TYPE.match(c.data_type)),
            "type": c.data_type,
            "description": c.description,
        }
        for c in doc.columns
    ]


def generated_metrics(doc: ModelDoc | None) -> list[dict[str, Any]]:
    """A dataset's metrics as Superset stores them, from its model's metrics layer."""
    business = get_settings().business
    symbol_first = number_format(business.locale, business.currency).symbol_first
    money = {"symbol": business.currency, "symbolPosition": "prefix" if symbol_first else "suffix"}
    return [
        {
            "metric_name": m.name,
            **METRIC_DEFAULTS,
            "verbose_name": m.label,
            "expression": m.sql,
            "description": m.description,
            "d3format": m.format,
            "currency": money if m.unit == "money" else None,
        }
        for m in (doc.metrics if doc else ())
    ]


# What of an exported metric is a definition: anything else differing is Superset's formatting of it.
_METRIC_DEFINITION = ("metric_name", "expression", "verbose_name", "d3format", "description")


# -- the repository's YAML -----------------------------------------------------------------------------------


@dataclass
class Assets:
    """The YAML files of `superset_assets/`, by path relative to it (`charts/revenue.yaml`)."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def of_kind(self, kind: str) -> dict[str, dict[str, Any]]:
        return {p: c for p, c in self.files.items() if p.startswith(f"{kind}/")}

    def path_of(self, uuid: str) -> str | None:
        return next((p for p, c in self.files.items() if str(c.get("uuid")) == uuid), None)


def load_assets(assets_dir: Path = ASSETS_DIR) -> Assets:
    if not (assets_dir / "databases").is_dir():
        raise PulseError(f"no Superset assets in {assets_dir}", "run from a Pulse checkout (superset_assets/)")
    assets = Assets()
    for kind in KINDS:
        for path in sorted((assets_dir / kind).rglob("*.yaml")):
            relative = path.relative_to(assets_dir).as_posix()
            content = yaml.safe_load(path.read_text())
            if not isinstance(content, dict) or "uuid" not in content:
                raise PulseError(f"{path}: not a Superset asset (no uuid)", "fix the file or export it again")
            assets.files[relative] = content
    seen: dict[str, str] = {}
    for relative, content in assets.files.items():
        uuid = str(content["uuid"])
        if uuid in seen:
            raise PulseError(f"{relative} and {seen[uuid]} have the same uuid {uuid}", "give one of them a new uuid")
        seen[uuid] = relative
    return assets


class _PlainDumper(yaml.SafeDumper):
    """Writes repeated values out in full: no `&id001` anchors in files people read and edit."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(content: dict[str, Any]) -> str:
    return yaml.dump(content, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=120)


# -- import: YAML -> bundle -----------------------------------------------------------------------------------


def stable_chart_id(uuid: str) -> int:
    """A number that stands for a chart in YAML wherever Superset wants an id (it remaps them on import)."""
    return int(uuid.replace("-", "")[:7], 16)


def warehouse_uri(settings: Settings, yaml_uri: str) -> str:
    """The YAML's URI pointed at this deployment's warehouse, as the read-only user (password masked)."""
    parts = urlsplit(yaml_uri)
    netloc = f"{READER_USER}:{MASKED_PASSWORD}@{settings.clickhouse_host}:{settings.clickhouse_port}"
    query = parts.query
    if settings.clickhouse_url.startswith("https") and "secure=" not in query:
        query = "&".join(filter(None, [query, "secure=true"]))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def complete_database(config: dict[str, Any], settings: Settings) -> dict[str, Any]:
    full = {**DATABASE_DEFAULTS, **config, "version": EXPORT_VERSION}
    full["sqlalchemy_uri"] = warehouse_uri(settings, config["sqlalchemy_uri"])
    return full


def complete_dataset(config: dict[str, Any], docs: dict[str, ModelDoc]) -> dict[str, Any]:
    doc = docs.get(config["table_name"]) if not config.get("sql") else None
    full = {**DATASET_DEFAULTS, **config, "version": EXPORT_VERSION}
    if doc and config.get("description") is None:
        full["description"] = doc.description
    overrides = {c["column_name"]: c for c in config.get("columns") or []}
    columns = []
    for generated in generated_columns(doc) if doc else []:
        columns.append({**generated, **overrides.pop(generated["column_name"], {})})
    columns += [{"column_name": name, **COLUMN_DEFAULTS, **c} for name, c in overrides.items()]
    full["columns"] = columns
    if config.get("metrics"):
        raise PulseError(
            f"dataset {config['table_name']} declares metrics: {', '.join(m['metric_name'] for m in config['metrics'])}",
            f"declare them once, in dbt_project/models/marts/{config['table_name']}.yml under config.meta.metrics",
        )
    full["metrics"] = generated_metrics(doc)
    return full


# Superset's week starting Sunday (its built-in grain name); superset_config.TIME_GRAIN_ADDON_EXPRESSIONS gives
# ClickHouse its expression. Charts are written with P1W; a Sunday-first business gets this grain on import.
WEEK_STARTING_SUNDAY = "1969-12-28T00:00:00Z/P1W"


def complete_chart(config: dict[str, Any]) -> dict[str, Any]:
    full = {**CHART_DEFAULTS, **copy.deepcopy(config), "version": EXPORT_VERSION}
    params = full.setdefault("params", {})
    params.setdefault("viz_type", full["viz_type"])
    if params.get("time_grain_sqla") == "P1W" and get_settings().business.week_start == "sunday":
        params["time_grain_sqla"] = WEEK_STARTING_SUNDAY
    if superset_query_context.supports(full["viz_type"]):
        full["query_context"] = json.dumps(superset_query_context.build(params))
    else:
        full.setdefault("query_context", None)
    return full


def complete_dashboard(config: dict[str, Any]) -> dict[str, Any]:
    full = {**DASHBOARD_DEFAULTS, **copy.deepcopy(config), "version": EXPORT_VERSION}
    for native_filter in full.get("metadata", {}).get("native_filter_configuration", []):
        native_filter.pop("chartsInScope", None)
        native_filter.pop("tabsInScope", None)
    return full


def build_bundle(assets: Assets, settings: Settings, docs: dict[str, ModelDoc] | None = None) -> bytes:
    """The ZIP `POST /api/v1/assets/import/` takes: metadata.yaml and every object, completed."""
    docs = load_dbt_docs() if docs is None else docs
    completers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "databases": lambda c: complete_database(c, settings),
        "datasets": lambda c: complete_dataset(c, docs),
        "charts": complete_chart,
        "dashboards": complete_dashboard,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        metadata = {"version": EXPORT_VERSION, "type": "assets", "timestamp": dt.datetime.now(dt.UTC).isoformat()}
        bundle.writestr(f"{BUNDLE_ROOT}/metadata.yaml", dump_yaml(metadata))
        for path, config in assets.files.items():
            kind = path.split("/", 1)[0]
            bundle.writestr(f"{BUNDLE_ROOT}/{path}", dump_yaml(completers[kind](config)))
    return buffer.getvalue()


# What Superset stores as the warehouse password: not a secret. superset_config.DB_CONNECTION_MUTATOR sets the
# real one per connection from the environment, so no password reaches Superset's metadata or its action log.
STORED_PASSWORD_PLACEHOLDER = "set-per-connection-by-pulse"  # noqa: S105 - a placeholder, by design


def database_passwords(assets: Assets, settings: Settings) -> dict[str, str]:
    """`passwords` for the import: a placeholder for every database file (never a real password)."""
    return dict.fromkeys(assets.of_kind("databases"), STORED_PASSWORD_PLACEHOLDER)


# -- export: bundle -> YAML ------------------------------------------------------------------------------------


def read_bundle(bundle: bytes) -> dict[str, dict[str, Any]]:
    """An export ZIP's objects by path below its top folder (`charts/Revenue_3.yaml`)."""
    files: dict[str, dict[str, Any]] = {}
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        for name in archive.namelist():
            relative = PurePosixPath(*PurePosixPath(name).parts[1:]).as_posix()
            if relative.split("/", 1)[0] in KINDS and relative.endswith(".yaml"):
                files[relative] = yaml.safe_load(archive.read(name))
    return files


def _without_defaults(config: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in config.items()
        if k not in VOLATILE_KEYS and k != "version" and not (k in defaults and defaults[k] == v)
    }


def normalise_database(config: dict[str, Any]) -> dict[str, Any]:
    result = _without_defaults(config, DATABASE_DEFAULTS)
    parts = urlsplit(config["sqlalchemy_uri"])
    query = "&".join(q for q in parts.query.split("&") if q and q != "secure=true")
    result["sqlalchemy_uri"] = urlunsplit((parts.scheme, CANONICAL_NETLOC, parts.path, query, parts.fragment))
    result.pop("password", None)
    return result


def normalise_dataset(config: dict[str, Any], docs: dict[str, ModelDoc]) -> dict[str, Any]:
    doc = docs.get(config["table_name"]) if not config.get("sql") else None
    result = _without_defaults(config, DATASET_DEFAULTS)
    if doc and result.get("description") == doc.description:
        result.pop("description")
    generated = {c["column_name"]: c for c in generated_columns(doc)} if doc else {}
    columns = []
    for column in config.get("columns") or []:
        baseline = generated.get(column["column_name"], {"column_name": column["column_name"], **COLUMN_DEFAULTS})
        override = {
            k: v for k, v in column.items() if k == "column_name" or baseline.get(k, COLUMN_DEFAULTS.get(k)) != v
        }
        if len(override) > 1 or column["column_name"] not in generated:
            columns.append(override)
    order = {name: i for i, name in enumerate(generated)}
    columns.sort(key=lambda c: (order.get(c["column_name"], len(order)), c["column_name"]))
    result.pop("columns", None)
    expected = {m["metric_name"]: [m.get(k) for k in _METRIC_DEFINITION] for m in generated_metrics(doc)}
    exported = {m["metric_name"]: [m.get(k) for k in _METRIC_DEFINITION] for m in config.get("metrics") or []}
    if drifted := sorted(
        name for name in exported.keys() | expected.keys() if exported.get(name) != expected.get(name)
    ):
        raise PulseError(
            f"dataset {config['table_name']}: metrics {', '.join(drifted)} in Superset differ from the metrics layer",
            f"change them in dbt_project/models/marts/{config['table_name']}.yml (config.meta.metrics), not in "
            "Superset: `pulse superset import` regenerates every dataset's metrics from there",
        )
    result.pop("metrics", None)
    # Same key order as the files people write: identity, then what it is, then its column overrides last.
    ordered = {k: result.pop(k) for k in ("table_name", "schema", "uuid", "database_uuid") if k in result}
    ordered.update(result)
    if columns:
        ordered["columns"] = columns
    return ordered


def normalise_chart(config: dict[str, Any]) -> dict[str, Any]:
    result = _without_defaults(config, CHART_DEFAULTS)
    params = dict(result.get("params") or {})
    for key in ("datasource", "slice_id", "dashboards"):
        params.pop(key, None)
    if params.get("annotation_layers") == []:  # Superset adds it on import
        params.pop("annotation_layers")
    if params.get("time_grain_sqla") == WEEK_STARTING_SUNDAY:  # the business's weeks, written as weeks
        params["time_grain_sqla"] = "P1W"
    result["params"] = params
    if superset_query_context.supports(result["viz_type"]) or result.get("query_context") is None:
        result.pop("query_context", None)
    else:
        query_context = json.loads(result["query_context"])
        query_context["datasource"] = {"id": 0, "type": "table"}
        query_context.get("form_data", {}).pop("datasource", None)
        query_context.get("form_data", {}).pop("slice_id", None)
        for query in query_context.get("queries", []):
            query.pop("datasource", None)
            query.get("url_params", {}).pop("slice_id", None)
        result["query_context"] = json.dumps(query_context, sort_keys=True)
    return result


def remap_chart_ids(config: dict[str, Any], id_map: dict[int, int]) -> dict[str, Any]:
    """Replace chart ids everywhere a dashboard keeps them (the places Superset's importer remaps)."""
    result = copy.deepcopy(config)

    def new(old: Any) -> int:
        return id_map.get(int(old), int(old))

    for node in (result.get("position") or {}).values():
        if isinstance(node, dict) and node.get("type") == "CHART" and "chartId" in node.get("meta", {}):
            node["meta"]["chartId"] = new(node["meta"]["chartId"])
    metadata = result.get("metadata") or {}
    if "timed_refresh_immune_slices" in metadata:
        metadata["timed_refresh_immune_slices"] = [new(i) for i in metadata["timed_refresh_immune_slices"]]
    if "expanded_slices" in metadata:
        metadata["expanded_slices"] = {str(new(k)): v for k, v in metadata["expanded_slices"].items()}
    if "filter_scopes" in metadata:
        metadata["filter_scopes"] = {
            str(new(k)): {col: {**a, "immune": [new(i) for i in a.get("immune", [])]} for col, a in cols.items()}
            for k, cols in metadata["filter_scopes"].items()
        }
    for native_filter in metadata.get("native_filter_configuration") or []:
        scope = native_filter.get("scope") or {}
        if scope.get("excluded"):
            scope["excluded"] = sorted(new(i) for i in scope["excluded"])
        native_filter.pop("chartsInScope", None)
        native_filter.pop("tabsInScope", None)
    global_scope = (metadata.get("global_chart_configuration") or {}).get("scope") or {}
    if global_scope.get("excluded"):
        global_scope["excluded"] = sorted(new(i) for i in global_scope["excluded"])
    if "chart_configuration" in metadata:
        remapped = {}
        for key, chart_config in metadata["chart_configuration"].items():
            if isinstance(chart_config, dict):
                chart_config["id"] = new(chart_config.get("id", key))
                scope = (chart_config.get("crossFilters") or {}).get("scope")
                if isinstance(scope, dict) and scope.get("excluded"):
                    scope["excluded"] = sorted(new(i) for i in scope["excluded"])
                if isinstance(chart_config.get("crossFilters"), dict):
                    chart_config["crossFilters"].pop("chartsInScope", None)
            remapped[str(new(key))] = chart_config
        metadata["chart_configuration"] = dict(sorted(remapped.items()))
    return result


def normalise_dashboard(config: dict[str, Any]) -> dict[str, Any]:
    result = _without_defaults(config, DASHBOARD_DEFAULTS)
    id_map = {}
    for node in (result.get("position") or {}).values():
        if isinstance(node, dict) and node.get("type") == "CHART" and "uuid" in node.get("meta", {}):
            id_map[int(node["meta"]["chartId"])] = stable_chart_id(node["meta"]["uuid"])
    return remap_chart_ids(result, id_map)


@dataclass
class ExportResult:
    written: list[str]
    unchanged: list[str]
    only_in_repository: list[str]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "unnamed"


def export_to_yaml(
    bundle: bytes, assets_dir: Path = ASSETS_DIR, docs: dict[str, ModelDoc] | None = None
) -> ExportResult:
    """Write an export back as normalised YAML: each object to the file that has its uuid (or a new file)."""
    docs = load_dbt_docs() if docs is None else docs
    current = load_assets(assets_dir)
    exported = read_bundle(bundle)
    result = ExportResult([], [], [])
    seen: set[str] = set()
    for path, config in sorted(exported.items()):
        kind = path.split("/", 1)[0]
        uuid = str(config["uuid"])
        seen.add(uuid)
        target = current.path_of(uuid)
        if kind == "databases":
            normalised = normalise_database(config)
            target = target or f"databases/{slug(config['database_name'])}.yaml"
        elif kind == "datasets":
            normalised = normalise_dataset(config, docs)
            if target is None:
                database = next(
                    (c for c in exported.values() if str(c.get("uuid")) == str(config["database_uuid"])), {}
                )
                folder = slug(database.get("database_name", "database"))
                target = f"datasets/{folder}/{config['table_name']}.yaml"
        elif kind == "charts":
            normalised = normalise_chart(config)
            target = target or f"charts/{slug(config['slice_name'])}.yaml"
        else:
            normalised = normalise_dashboard(config)
            target = target or f"dashboards/{slug(config['dashboard_title'])}.yaml"
        if current.files.get(target) == normalised:
            result.unchanged.append(target)
            continue
        (assets_dir / target).parent.mkdir(parents=True, exist_ok=True)
        (assets_dir / target).write_text(dump_yaml(normalised))
        result.written.append(target)
    result.only_in_repository = sorted(p for p, c in current.files.items() if str(c["uuid"]) not in seen)
    return result


# -- the commands --------------------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    objects: dict[str, int]  # kind -> objects in the bundle
    security: AppliedSecurity


def import_assets(client: SupersetClient, settings: Settings, assets_dir: Path = ASSETS_DIR) -> ImportSummary:
    """Import every object (created or overwritten, matched by uuid), then converge roles, RLS and demo users."""
    assets = load_assets(assets_dir)
    client.import_bundle(build_bundle(assets, settings), database_passwords(assets, settings))
    applied = apply_security(client, settings, load_security(assets_dir / "security.yaml"))
    return ImportSummary({kind: len(assets.of_kind(kind)) for kind in KINDS}, applied)


def export_assets(client: SupersetClient, assets_dir: Path = ASSETS_DIR) -> ExportResult:
    return export_to_yaml(client.export_bundle(), assets_dir)
