"""The ASGI application for uvicorn: `uvicorn operational_api.asgi:app`."""

import sys

from operational_api.app import create_app

# Route handlers run in a thread pool and mostly wait on the database; a short GIL switch interval
# lets a thread whose query returned (possibly holding the write lock) resume quickly instead of
# waiting up to 5 ms behind CPU-bound work (JSON parsing, PIN hashing) in other threads.
sys.setswitchinterval(0.0005)

app = create_app()
