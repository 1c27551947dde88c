"""Seeded random streams: one independent stream per concern, so adding draws to one part of the
simulation does not shift the numbers of another (and the same seed always gives the same business)."""

from __future__ import annotations

import hashlib
import random

import numpy as np


def _subseed(seed: int, name: str) -> int:
    # Not Python's hash(): that one is randomised per process.
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "big")


def stream(seed: int, name: str) -> random.Random:
    return random.Random(_subseed(seed, name))


def np_stream(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng(_subseed(seed, name))


def customer_pin(seed: int, client_id: str) -> str:
    """The PIN a simulated customer types. Derived, so `--live` knows it without storing it anywhere."""
    return f"{_subseed(seed, 'pin:' + client_id) % 10_000:04d}"


def wrong_pin(pin: str) -> str:
    return f"{(int(pin) + 1 + int(pin[-1])) % 10_000:04d}"
