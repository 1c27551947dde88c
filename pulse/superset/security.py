"""Roles, row-level security and demo users as code (`superset_assets/security.yaml`), applied through Superset's
security REST API after the assets are imported, so it works against any Superset Pulse can sign in to.

Users get Superset's built-in `Gamma` (read dashboards and charts, no data) plus Pulse roles that grant data:

- `executive`: every table in the marts schema; every dashboard.
- `analyst`: the same plus SQL Lab (`sql_lab`); the warehouse connection is the read-only `pulse_reader`.
- `hospital_manager`: the hospital dashboards only, and no data by itself. Data comes with one role per
  hospital, `hospital_<id>` (generated from `marts.dim_hospitals`), which grants the hospital-level datasets
  and carries a row-level security filter `hospital_id = <id>` on them. A manager without a hospital role
  therefore sees nothing rather than everything, and one with two hospital roles sees both (one group key,
  so Superset ORs them).
- `sales_rep`: the same dashboards, and no data by itself either. Each sales rep gets a user, `rep_<id>` (generated
  from `marts.dim_sales_reps`), with `sales_rep` and the `hospital_<id>` role of every hospital in their territory
  (`marts.dim_sales_rep_hospitals`): Superset ORs those hospitals' filters, and the warehouse identity Superset
  connects as (docker/superset/superset_config.py) is the one of exactly those hospitals. A rep who leaves, or
  whose territory is emptied, keeps a deactivated user with no data role; a hospital that leaves a territory loses
  its role at the next import.

Dashboards list their roles (DASHBOARD_RBAC), so a hospital manager does not even see the other dashboards.
Everything is converged on each run: role permissions are replaced, filters and users updated in place. Demo
users' passwords are generated once into PULSE_HOME/secrets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pulse.core.console import PulseError
from pulse.core.paths import SUPERSET_ASSETS_DIR
from pulse.core.secrets import persistent_secret
from pulse.core.settings import HOSPITAL_TABLES, Settings
from pulse.superset.api import SupersetClient

SECURITY_FILE = SUPERSET_ASSETS_DIR / "security.yaml"


@dataclass(frozen=True)
class RoleSpec:
    name: str
    schemas: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    dashboards: tuple[str, ...] | None = None  # slugs; None = every dashboard


@dataclass(frozen=True)
class UserSpec:
    username: str
    first_name: str
    last_name: str
    roles: tuple[str, ...]
    email: str | None = None  # None: <username>@pulse.invalid
    active: bool = True


@dataclass(frozen=True)
class Hospital:
    hospital_id: int
    hospital_code: str
    hospital_name: str


@dataclass(frozen=True)
class SalesRep:
    sales_rep_id: int
    name: str
    email: str
    status: str
    hospital_ids: tuple[int, ...]  # their territory now

    @property
    def active(self) -> bool:
        return self.status == "active" and bool(self.hospital_ids)


@dataclass
class SecuritySpec:
    database: str
    roles: list[RoleSpec]
    hospital_role: str  # e.g. hospital_{hospital_id}
    hospitals_query: str
    hospital_datasets: tuple[str, ...]
    rls_clause: str
    rls_group_key: str
    users: list[UserSpec]
    hospital_manager_roles: tuple[str, ...]
    hospital_manager_username: str
    demo_hospital_managers: int
    sales_reps_query: str = ""
    sales_rep_username: str = "rep_{sales_rep_id}"
    sales_rep_roles: tuple[str, ...] = ()
    hospitals: list[Hospital] = field(default_factory=list)
    sales_reps: list[SalesRep] | None = None  # None: read from the warehouse when applied

    def hospital_role_name(self, hospital: Hospital) -> str:
        return self.hospital_role.format(**hospital.__dict__)

    def demo_users(self) -> list[UserSpec]:
        managers = [
            UserSpec(
                self.hospital_manager_username.format(**h.__dict__).lower(),
                "Manager",
                h.hospital_name,
                (*self.hospital_manager_roles, self.hospital_role_name(h)),
            )
            for h in self.hospitals[: self.demo_hospital_managers]
        ]
        return [*self.users, *managers, *self.sales_rep_users()]

    def sales_rep_users(self) -> list[UserSpec]:
        """One user per sales rep: their territory's hospital roles while they are active with a territory; a
        deactivated user with no data role otherwise (kept, so that their history in Superset stays theirs)."""
        known = {h.hospital_id: h for h in self.hospitals}
        users = []
        for rep in self.sales_reps or []:
            territory = [self.hospital_role_name(known[i]) for i in rep.hospital_ids if i in known]
            roles = (*self.sales_rep_roles, *territory) if rep.active else tuple(
                r for r in self.sales_rep_roles if r not in self.pulse_role_names
            )  # fmt: skip
            users.append(
                UserSpec(self.sales_rep_username.format(sales_rep_id=rep.sales_rep_id), "Sales rep", rep.name, roles,
                         email=rep.email, active=rep.active and bool(territory))
            )  # fmt: skip
        return users

    @property
    def pulse_role_names(self) -> set[str]:
        return {role.name for role in self.roles}


def load_security(path: Path = SECURITY_FILE) -> SecuritySpec:
    raw = yaml.safe_load(path.read_text())
    hospitals = raw["hospital_roles"]
    return SecuritySpec(
        database=raw["database"],
        roles=[
            RoleSpec(
                r["name"],
                tuple(r.get("schemas") or ()),
                tuple(r.get("datasets") or ()),
                None if r.get("dashboards", "all") == "all" else tuple(r["dashboards"]),
            )
            for r in raw["roles"]
        ],
        hospital_role=hospitals["name"],
        hospitals_query=hospitals["hospitals"],
        # The warehouse's hospital identities read exactly these marts (pulse.core.settings.HOSPITAL_TABLES).
        hospital_datasets=tuple(table.split(".", 1)[1] for table in HOSPITAL_TABLES),
        rls_clause=hospitals["row_level_security"]["clause"],
        rls_group_key=hospitals["row_level_security"]["group_key"],
        users=[UserSpec(u["username"], u["first_name"], u["last_name"], tuple(u["roles"])) for u in raw["users"]],
        hospital_manager_roles=tuple(raw["hospital_managers"]["roles"]),
        hospital_manager_username=raw["hospital_managers"]["username"],
        demo_hospital_managers=int(raw["hospital_managers"]["demo_users"]),
        sales_reps_query=raw["sales_reps"]["reps"],
        sales_rep_username=raw["sales_reps"]["username"],
        sales_rep_roles=tuple(raw["sales_reps"]["roles"]),
    )


def load_hospitals(settings: Settings, query: str) -> list[Hospital]:
    from warehouse.client import connect

    client = connect(settings)
    try:
        rows = client.query(query).result_rows
    except Exception as err:
        raise PulseError(
            f"cannot read the hospitals for row-level security: {err}", "build the marts first: `pulse dbt build`"
        ) from err
    finally:
        client.close()
    return [Hospital(int(r[0]), str(r[1]), str(r[2])) for r in rows]


def load_sales_reps(settings: Settings, query: str) -> list[SalesRep]:
    from warehouse.client import connect

    client = connect(settings)
    try:
        rows = client.query(query).result_rows
    except Exception as err:
        raise PulseError(
            f"cannot read the sales reps' territories for row-level security: {err}",
            "build the marts first: `pulse dbt build`",
        ) from err
    finally:
        client.close()
    return [SalesRep(int(r[0]), str(r[1]), str(r[2]), str(r[3]), tuple(int(i) for i in r[4])) for r in rows]


def demo_password_path(settings: Settings, username: str) -> Path:
    return settings.secrets_dir / f"superset_user_{username}"


def demo_password(settings: Settings, username: str) -> str:
    return persistent_secret(demo_password_path(settings, username))


@dataclass
class AppliedSecurity:
    roles: int
    rls_filters: int
    users: list[tuple[str, str, tuple[str, ...]]]  # (username, password, roles)


class _Catalogue:
    """What exists in Superset, looked up by name."""

    def __init__(self, client: SupersetClient, database: str) -> None:
        self.client = client
        self.roles = {r["name"]: r["id"] for r in client.listing("security/roles")}
        self.datasets = {
            d["table_name"]: d["id"] for d in client.listing("dataset") if d["database"]["database_name"] == database
        }
        self.dashboards = {d["slug"] or str(d["id"]): d["id"] for d in client.listing("dashboard")}
        self.permissions: dict[tuple[str, str], int] = {
            (p["permission"]["name"], p["view_menu"]["name"]): p["id"]
            for p in client.listing("security/permissions-resources")
        }
        self.database = database

    def role(self, name: str) -> int:
        if name not in self.roles:
            self.roles[name] = self.client.post("/api/v1/security/roles/", {"name": name})["id"]
        return self.roles[name]

    def dataset(self, table: str) -> int:
        if table not in self.datasets:
            raise PulseError(
                f"no dataset {table!r} on {self.database!r} in Superset", "check superset_assets/datasets/"
            )
        return self.datasets[table]

    def schema_permission(self, schema: str) -> int:
        key = ("schema_access", f"[{self.database}].[{schema}]")
        if key not in self.permissions:
            raise PulseError(f"Superset has no permission {key}", "import the assets first (the database creates it)")
        return self.permissions[key]

    def dataset_permission(self, table: str) -> int:
        name = f"[{self.database}].[{table}](id:{self.dataset(table)})"
        key = ("datasource_access", name)
        if key not in self.permissions:
            raise PulseError(f"Superset has no permission {key}", "rerun `pulse superset import`")
        return self.permissions[key]


def apply_security(client: SupersetClient, settings: Settings, spec: SecuritySpec | None = None) -> AppliedSecurity:
    spec = spec or load_security()
    if not spec.hospitals:
        spec.hospitals = load_hospitals(settings, spec.hospitals_query)
    if spec.sales_reps is None:
        spec.sales_reps = load_sales_reps(settings, spec.sales_reps_query) if spec.sales_reps_query else []
    catalogue = _Catalogue(client, spec.database)

    dashboard_roles: dict[int, set[int]] = {dashboard_id: set() for dashboard_id in catalogue.dashboards.values()}
    for role in spec.roles:
        role_id = catalogue.role(role.name)
        permissions = [catalogue.schema_permission(s) for s in role.schemas]
        permissions += [catalogue.dataset_permission(t) for t in role.datasets]
        client.post(f"/api/v1/security/roles/{role_id}/permissions", {"permission_view_menu_ids": sorted(permissions)})
        slugs = catalogue.dashboards if role.dashboards is None else role.dashboards
        for slug in slugs:
            if slug not in catalogue.dashboards:
                raise PulseError(
                    f"role {role.name}: no dashboard with slug {slug!r}", "check superset_assets/security.yaml"
                )
            dashboard_roles[catalogue.dashboards[slug]].add(role_id)
    for dashboard_id, role_ids in dashboard_roles.items():
        client.put(f"/api/v1/dashboard/{dashboard_id}", {"roles": sorted(role_ids)})

    hospital_tables = [catalogue.dataset(t) for t in spec.hospital_datasets]
    hospital_permissions = sorted(catalogue.dataset_permission(t) for t in spec.hospital_datasets)
    existing_filters = {f["name"]: f["id"] for f in client.listing("rowlevelsecurity")}
    for hospital in spec.hospitals:
        name = spec.hospital_role_name(hospital)
        role_id = catalogue.role(name)
        client.post(f"/api/v1/security/roles/{role_id}/permissions", {"permission_view_menu_ids": hospital_permissions})
        rls = {
            "name": name,
            "description": f"{hospital.hospital_name}: only its rows",
            "filter_type": "Regular",
            "tables": hospital_tables,
            "roles": [role_id],
            "group_key": spec.rls_group_key,
            "clause": spec.rls_clause.format(**hospital.__dict__),
        }
        if name in existing_filters:
            client.put(f"/api/v1/rowlevelsecurity/{existing_filters[name]}", rls)
        else:
            client.post("/api/v1/rowlevelsecurity/", rls)

    users = {u["username"]: u["id"] for u in client.listing("security/users")}
    applied = []
    for user in spec.demo_users():
        password = demo_password(settings, user.username)
        payload = {
            "username": user.username,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email or f"{user.username}@pulse.invalid",
            "active": user.active,
            "roles": [_existing_role(catalogue, r) for r in user.roles],
            "password": password,
        }
        if user.username in users:
            client.put(f"/api/v1/security/users/{users[user.username]}", payload)
        else:
            client.post("/api/v1/security/users/", payload)
        applied.append((user.username, password, user.roles))
    return AppliedSecurity(len(spec.roles) + len(spec.hospitals), len(spec.hospitals), applied)


def _existing_role(catalogue: _Catalogue, name: str) -> int:
    if name not in catalogue.roles:
        raise PulseError(
            f"a demo user needs role {name!r}, which neither Superset nor security.yaml defines", "fix security.yaml"
        )
    return catalogue.roles[name]
