"""The ASGI application `pulse portal serve` runs: `uvicorn pulse.portal.asgi:app`."""

import sys

from pulse.portal.app import create_app

sys.setswitchinterval(0.0005)  # as operational_api/asgi.py: a thread whose query returned resumes quickly

app = create_app()
