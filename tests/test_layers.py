"""The layers of the code (pyproject.toml [tool.importlinter]) are a contract `make test` checks: these tests show
it holds, and that it is not vacuous (a back-arrow breaks it)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from pulse.core.paths import REPO

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache"], cwd=REPO, capture_output=True, text=True
    )


def test_the_layers_hold() -> None:
    result = lint(REPO / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_core_imports_nothing_of_pulse_and_a_back_arrow_breaks_the_contract(tmp_path: Path) -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["type"] == "layers")
    layers = contract["layers"]
    assert layers[-1] == "pulse.core"  # the ground floor imports nothing above it
    # Put the warehouse under core: every `warehouse -> pulse.core` import is now a back-arrow.
    swapped = [*layers[:-3], "pulse.metrics", "pulse.core", "warehouse"]
    lines = [
        "[tool.importlinter]",
        f"root_packages = {config['root_packages']!r}",
        "[[tool.importlinter.contracts]]",
        'name = "swapped"',
        'type = "layers"',
        f"layers = {swapped!r}",
    ]
    (tmp_path / "swapped.toml").write_text("\n".join(lines) + "\n")
    result = lint(tmp_path / "swapped.toml")
    assert result.returncode == 1, result.stdout
    assert "swapped BROKEN" in result.stdout and "warehouse.embedded.server -> pulse.core" in result.stdout


def test_a_client_that_starts_the_embedded_warehouse_breaks_the_contract(tmp_path: Path) -> None:
    """Counted among the clients, the platform (which does start the server) breaks the forbidden contract."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["type"] == "forbidden")
    assert "warehouse.*" in contract["source_modules"] and contract["forbidden_modules"] == ["warehouse.embedded"]
    lines = [
        "[tool.importlinter]",
        f"root_packages = {config['root_packages']!r}",
        "[[tool.importlinter.contracts]]",
        'name = "platform as a client"',
        'type = "forbidden"',
        f"source_modules = {[*contract['source_modules'], 'pulse.platform']!r}",
        'forbidden_modules = ["warehouse.embedded"]',
    ]
    (tmp_path / "client.toml").write_text("\n".join(lines) + "\n")
    result = lint(tmp_path / "client.toml")
    assert result.returncode == 1, result.stdout
    assert "pulse.platform is not allowed to import warehouse.embedded" in result.stdout
