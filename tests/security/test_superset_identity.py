"""Superset picks each user's warehouse identity in its own environment (docker/superset/superset_config.py, standard library
only): it must name and sign exactly the identities the warehouse checks (warehouse/access.py)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from pulse.core.settings import READER_USER, Settings
from pulse.superset.runtime import warehouse_identities_env
from tests.conftest import REPO
from warehouse.access import hospital_password, hospital_user, warehouse_account


def test_superset_identities_are_the_warehouse_identities(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(_env_file=None, home=tmp_path)  # type: ignore[call-arg]
    env = warehouse_identities_env(settings)
    for name, value in {**env, "SUPERSET_SECRET_KEY": "x", "SUPERSET_DATABASE_URI": "postgresql://x/y"}.items():
        monkeypatch.setenv(name, value)
    identity = runpy.run_path(str(REPO / "docker" / "superset" / "superset_config.py"))["warehouse_identity"]
    prefix = env["PULSE_SUPERSET_HOSPITAL_ROLE_PREFIX"]

    user, password = identity("manager", [f"{prefix}4", f"{prefix}2", "Gamma"])
    assert user == hospital_user([2, 4])
    assert password == hospital_password(settings.hospital_key(), user)
    account = warehouse_account(settings, user)
    assert account is not None and account.check(password)

    for role in env["PULSE_SUPERSET_FULL_DATA_ROLES"].split(","):
        assert identity("someone", [role, f"{prefix}1"]) == (READER_USER, settings.reader_password())
    # Neither a full-data nor a hospital role: an identity the warehouse does not know, so it reads nothing.
    user, password = identity("stranger", ["Gamma", f"{prefix}x"])
    assert warehouse_account(settings, user) is None
