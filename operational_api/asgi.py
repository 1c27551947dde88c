"""The ASGI application for uvicorn: `uvicorn operational_api.asgi:app`."""

from operational_api.app import create_app

app = create_app()
