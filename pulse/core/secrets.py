"""Secrets Pulse generates for itself, one file each under PULSE_HOME/secrets, never printed or logged."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def persistent_secret(path: Path, nbytes: int = 24) -> str:
    """Read a generated secret, creating it (mode 0600, its folder 0700) the first time. Safe when processes
    race: the secret is written whole to a private file, then linked into place; the loser reads the winner's."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(nbytes))
    try:
        os.link(tmp, path)  # atomic: the first process to get here wins, the others read its file
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()
