"""No secret appears in what `pulse settings` prints, neither one given in a URL nor one Pulse generated, nor a
warehouse user's password hash."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from pulse.core.settings import Settings


def test_pulse_settings_masks_every_secret(tmp_path: Path) -> None:
    password_hash = hashlib.sha256(b"reader-password-6").hexdigest()
    users = {"pulse_reader": {"password_sha256_hex": password_hash, "databases": ["marts"]}}
    given = {
        "PULSE_CLICKHOUSE_URL": "http://default:url-password-1@127.0.0.1:8123",
        "PULSE_OPS_DATABASE_URL": "postgresql+psycopg://pulse:url-password-2@127.0.0.1/pulse",
        "PULSE_SUPERSET_DATABASE_URL": "postgresql+psycopg2://superset:url-password-3@127.0.0.1/superset",
        "PULSE_SMTP_PASSWORD": "smtp-password-4",
        "PULSE_REPORTS_SECRET_KEY": "reports-key-5",
        "PULSE_WAREHOUSE_USERS": json.dumps(users),
    }
    settings = Settings(home=tmp_path)
    generated = [settings.admin_password(), settings.reader_password(), settings.hospital_key()]
    env = {**os.environ, "PULSE_HOME": str(tmp_path), "COLUMNS": "400", **given}
    shown = subprocess.run(
        [sys.executable, "-m", "pulse", "settings"], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    output = shown.stdout + shown.stderr
    assert "PULSE_CLICKHOUSE_URL" in output and "http://default:***@127.0.0.1:8123" in output
    assert '"password_sha256_hex": "***"' in output  # the users are shown, their hashes are not
    for secret in [*(v.split(":")[2].split("@")[0] for k, v in given.items() if k.endswith("_URL")), *generated]:
        assert secret not in output
    for secret in ("smtp-password-4", "reports-key-5", password_hash):
        assert secret not in output
