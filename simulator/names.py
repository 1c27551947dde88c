"""People's names and phone numbers, the way the simulated business writes them (simulator/profiles.py)."""

from __future__ import annotations

import random

from simulator.profiles import SimProfile


def person(rng: random.Random, profile: SimProfile) -> tuple[str, str, str]:
    """(full name, latin handle for e-mails, gender)."""
    first, first_latin = rng.choice(profile.first_names)
    last, last_latin = rng.choice(profile.last_names)
    female = first in profile.female_first_names
    if female and profile.feminine_surnames:
        last, last_latin = last + "а", last_latin + "a"
    full = f"{last} {first}" if profile.feminine_surnames else f"{first} {last}"
    return full, f"{first_latin}.{last_latin}", "female" if female else "male"


def phone(rng: random.Random, profile: SimProfile) -> str:
    digits = 10 if profile.phone_prefix == "+1" else 9
    return f"{profile.phone_prefix}{rng.randrange(10**digits):0{digits}d}"
