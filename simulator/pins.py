"""Customers' PIN hashes, made with the service layer's own `hash_pin` (scrypt, salted, peppered).

scrypt is deliberately slow (about 1.5 ms): at the default scale the 13,600 hashes are spread over
worker processes.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from functools import partial

from operational_api.security import hash_pin

PARALLEL_FROM = 2_000


def hash_pins(pins: list[str], pepper: bytes) -> list[str]:
    if len(pins) < PARALLEL_FROM:
        return [hash_pin(pin, pepper) for pin in pins]
    workers = max(1, min(8, os.cpu_count() or 1))
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(partial(hash_pin, pepper=pepper), pins, chunksize=500))
