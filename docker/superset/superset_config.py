"""Superset's configuration in the container image: Pulse's own (pulse/superset_config.py, the same file
`pulse superset` uses on embedded defaults), plus what only a deployment behind a proxy needs.

Superset loads this file through SUPERSET_CONFIG_PATH. Pulse's file reads SUPERSET_SECRET_KEY,
SUPERSET_DATABASE_URI and the PULSE_SUPERSET_CACHE_* variables from the environment, which docker-compose.yml sets.
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path

# Superset reads the upper-case names of its configuration module; take Pulse's, then add the deployment's.
_PULSE_CONFIG = runpy.run_path(str(Path(__file__).with_name("pulse_superset_config.py")))
globals().update({name: value for name, value in _PULSE_CONFIG.items() if name.isupper()})

# Behind a TLS-terminating proxy: Secure session cookies, and the proxy's X-Forwarded-* headers trusted.
SESSION_COOKIE_SECURE = os.environ.get("SUPERSET_COOKIE_SECURE", "false").lower() == "true"
ENABLE_PROXY_FIX = os.environ.get("SUPERSET_ENABLE_PROXY_FIX", "false").lower() == "true"
