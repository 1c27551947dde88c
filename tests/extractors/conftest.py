"""The extract tests use the shared `platform` fixture (tests/platform.py, registered in tests/conftest.py)."""

from tests.platform import Platform

__all__ = ["Platform"]
