"""The dbt documentation site (models, columns, tests, lineage) as a background service: `pulse dbt-docs`.

`dbt docs generate` writes the site into PULSE_HOME/dbt/docs (it reads the warehouse's catalog, so run it after a
build to see column types and row counts); `dbt docs serve` serves that directory on 127.0.0.1:PULSE_DBT_DOCS_PORT.
The site has a target path of its own, apart from PULSE_HOME/dbt/target: the dbt runs of Airflow's tasks rewrite
that one's manifest whenever they run, so generating (or serving) the site there would race them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import typer

from pulse.core import processes
from pulse.core.console import PulseError, console
from pulse.core.processes import Service
from pulse.core.settings import Settings, get_settings
from pulse.dbt.runner import dbt_env, dbt_executable, run_dbt

# What `dbt docs generate` writes and `dbt docs serve` needs.
SITE_FILES = ("index.html", "manifest.json", "catalog.json")
PARTIAL_PARSE = "partial_parse.msgpack"  # dbt's parsed project, in each target path

app = typer.Typer(help="The dbt documentation site (generated, then served in the background).", no_args_is_help=True)


def url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.dbt_docs_port}/"


def site_dir(settings: Settings) -> Path:
    return settings.home / "dbt" / "docs"


def generate_args(settings: Settings) -> list[str]:
    """dbt's arguments that generate the site into `site_dir`."""
    return ["--quiet", "docs", "generate", "--target-path", str(site_dir(settings))]


def reuse_parse(settings: Settings) -> None:
    """Start the site's target from the runs' parsed project (dbt's partial_parse.msgpack), so that `docs generate`
    re-parses only what changed since (about 10 s less). A copy torn by a run writing the file meanwhile costs
    nothing but that time: dbt parses everything when it cannot read the file."""
    parsed = settings.home / "dbt" / "target" / PARTIAL_PARSE
    if not parsed.exists():
        return
    site = site_dir(settings)
    site.mkdir(parents=True, exist_ok=True)
    copy = site / f"{PARTIAL_PARSE}.copying"
    shutil.copyfile(parsed, copy)
    copy.replace(site / PARTIAL_PARSE)


def generate(settings: Settings, *, only_if_missing: bool = False) -> None:
    """`dbt docs generate`; with only_if_missing, nothing when a generated site is already there."""
    if only_if_missing and all((site_dir(settings) / name).exists() for name in SITE_FILES):
        return
    reuse_parse(settings)
    if run_dbt(generate_args(settings), settings) != 0:
        raise PulseError(
            "dbt docs generate failed",
            "is the warehouse up (`pulse warehouse start`)? `pulse dbt docs generate` shows the error",
        )


def service(settings: Settings) -> Service:
    return Service(
        name="dbt-docs",
        command=[
            dbt_executable(),
            "--quiet",
            "docs",
            "serve",
            "--no-browser",
            "--target-path",
            str(site_dir(settings)),
            "--host",
            "127.0.0.1",
            "--port",
            str(settings.dbt_docs_port),
        ],
        health_url=url(settings),
        env=dbt_env(settings),
        healthy_if=lambda r: r.status_code == 200 and "dbt" in r.text,
    )


def start(settings: Settings, *, regenerate: bool = False) -> int:
    """Generate the site if it is missing (or `regenerate`), then serve it in the background; returns the pid.
    What `pulse demo` calls once the marts are built."""
    generate(settings, only_if_missing=not regenerate)
    return processes.start(service(settings), settings)


def stop(settings: Settings) -> bool:
    return processes.stop(service(settings), settings)


@app.command("start")
def start_command(
    regenerate: bool = typer.Option(False, help="Run `dbt docs generate` even if a site was generated before."),
) -> None:
    """Generate the docs if needed and serve them in the background."""
    settings = get_settings()
    with console.status("generating and starting the dbt docs"):
        pid = start(settings, regenerate=regenerate)
    console.print(f"dbt docs: {url(settings)} (pid {pid})")


@app.command("stop")
def stop_command() -> None:
    """Stop the docs server."""
    console.print("dbt docs stopped" if stop(get_settings()) else "dbt docs were not running")


@app.command("serve")
def serve_command(
    regenerate: bool = typer.Option(False, help="Run `dbt docs generate` even if a site was generated before."),
) -> None:
    """Generate the docs if needed and serve them in the foreground (Ctrl-C stops)."""
    import subprocess

    settings = get_settings()
    generate(settings, only_if_missing=not regenerate)
    console.print(f"dbt docs: {url(settings)}")
    raise typer.Exit(subprocess.call(service(settings).command, env=dbt_env(settings)))
