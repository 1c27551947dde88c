"""`pulse portal ...`: serve the API with the portal, and manage the staff who sign in to it."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from pulse.core.console import PulseError, console
from pulse.core.settings import Settings, get_settings

if TYPE_CHECKING:
    from operational_api.db import Store

app = typer.Typer(help="The report portal (web) and its users.", no_args_is_help=True)
# The demo's sign-ins: (role, address, display name); passwords are generated into PULSE_HOME/secrets.
DEMO_USERS = (
    ("admin", "admin@pulse.example.com", "Portal Admin"),
    ("report_manager", "reports@pulse.example.com", "Report Manager"),
    ("sales_rep", None, None),  # the first sales rep with a territory signs in as themself
)


def portal_url(settings: Settings) -> str:
    from operational_api.unsubscribe import public_base_url

    return f"{public_base_url(settings)}/portal/"


def demo_password_path(settings: Settings, role: str) -> str:
    return str(settings.secrets_dir / f"portal_{role}_password")


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Default: PULSE_API_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: PULSE_API_PORT.")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
) -> None:
    """Serve the operational API, the report actions and the portal (/portal/) in one process."""
    from operational_api.cli import run_server

    run_server("pulse.portal.asgi:app", host=host, port=port, workers=workers)


def _store() -> Store:
    from operational_api.db import Store

    return Store(settings=get_settings())


@app.command("add-user")
def add_user(
    email: Annotated[str, typer.Option(help="Sign-in address.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[str, typer.Option(help="admin, report_manager or sales_rep.")],
    locale: Annotated[str, typer.Option(help="en or ru.")] = "en",
    sales_rep_id: Annotated[int | None, typer.Option(help="For a sales_rep: their sales rep record.")] = None,
) -> None:
    """Add a portal user; the password is asked for (never an argument: it would stay in the shell's history)."""
    from operational_api.services.common import ServiceError
    from pulse.portal.auth import create_user

    password = getpass.getpass("password (12 characters or more): ")
    store = _store()
    try:
        user = create_user(store, email=email, name=name, role=role, password=password, locale=locale,
                           sales_rep_id=sales_rep_id)  # fmt: skip
    except ServiceError as err:
        reasons = "; ".join(f"{loc[-1]}: {reason}" for loc, reason in err.fields)
        raise PulseError(f"{err.message}{': ' + reasons if reasons else ''}", hint="pulse portal users") from None
    finally:
        store.dispose()
    console.print(f"[green]added[/green] {user.email} ({user.role}); sign in at {portal_url(get_settings())}")


@app.command("set-password")
def set_password(email: Annotated[str, typer.Argument(help="The user's address.")]) -> None:
    """Set a user's password (asked for); their sessions end."""
    from operational_api.services.common import ServiceError
    from pulse.portal.auth import set_password as store_password

    password = getpass.getpass("new password (12 characters or more): ")
    store = _store()
    try:
        store_password(store, email, password)
    except ServiceError as err:
        raise PulseError(err.message, hint="pulse portal users lists them") from None
    finally:
        store.dispose()
    console.print(f"[green]password set[/green] for {email}; their sessions were signed out")


@app.command("users")
def users() -> None:
    """The portal's users."""
    from sqlalchemy import select

    from operational_api.models import PortalUser

    store = _store()
    try:
        with store.read() as session:
            rows = session.scalars(select(PortalUser).where(PortalUser.deleted_at.is_(None)).order_by(PortalUser.id))
            table = Table("email", "name", "role", "sales rep", "language", "last sign-in")
            for u in rows:
                table.add_row(u.email, u.name, u.role, str(u.sales_rep_id or ""), u.locale,
                              f"{u.last_sign_in_at:%Y-%m-%d %H:%M}" if u.last_sign_in_at else "never")  # fmt: skip
    finally:
        store.dispose()
    console.print(table)


def demo_logins(settings: Settings) -> list[tuple[str, str, str]]:
    """Create the demo's portal users that do not exist yet; (role, address, where the password is)."""
    from sqlalchemy import select

    from operational_api.db import Store
    from operational_api.models import PortalUser, SalesRep, SalesRepTerritory
    from pulse.core.secrets import persistent_secret
    from pulse.portal.auth import create_user

    store = Store(settings=settings)
    logins = []
    try:
        for role, email, name in DEMO_USERS:
            rep_id = None
            if role == "sales_rep":
                with store.read() as session:
                    rep = session.scalars(
                        select(SalesRep)
                        .join(SalesRepTerritory, SalesRepTerritory.sales_rep_id == SalesRep.id)
                        .where(
                            SalesRep.deleted_at.is_(None),
                            SalesRep.status == "active",
                            SalesRepTerritory.deleted_at.is_(None),
                        )
                        .order_by(SalesRep.id)
                    ).first()
                    if rep is None:
                        continue
                    rep_id, email, name, locale = rep.id, rep.email, rep.name, rep.locale
            else:
                locale = settings.business.locale
            if email is None or name is None:
                continue
            where = demo_password_path(settings, role)
            password = persistent_secret(settings.secrets_dir / f"portal_{role}_password", nbytes=18)
            with store.read() as session:
                exists = session.scalars(select(PortalUser.id).where(PortalUser.email == email.lower())).first()
            if exists is None:
                create_user(store, email=email, name=name, role=role, password=password, locale=locale,
                            sales_rep_id=rep_id)  # fmt: skip
            logins.append((role, email.lower(), where))
    finally:
        store.dispose()
    return logins


@app.command("demo-users")
def demo_users() -> None:
    """Create the demo's sign-ins (admin, report manager, one sales rep); passwords go to PULSE_HOME/secrets."""
    settings = get_settings()
    for role, email, where in demo_logins(settings):
        console.print(f"{role:<15} {email}   password in {where}")
