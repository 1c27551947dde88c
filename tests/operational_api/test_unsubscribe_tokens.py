"""Unsubscribe tokens: they round-trip, and nobody can forge or alter one."""

from __future__ import annotations

import pytest

from operational_api.unsubscribe import BadToken, make_token, read_token


def test_unsubscribe_tokens_round_trip_and_resist_tampering() -> None:
    token = make_token(b"k", 7, "Anna@Example.RU")
    assert read_token(b"k", token) == (7, "anna@example.ru")
    with pytest.raises(BadToken):
        read_token(b"other key", token)
    mac = token.split(".")[1]
    forged = make_token(b"k", 8, "anna@example.ru").split(".")[0]
    with pytest.raises(BadToken):
        read_token(b"k", f"{forged}.{mac}")
    with pytest.raises(BadToken):
        read_token(b"k", "x" * 700)
