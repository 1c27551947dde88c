"""What a simulation run is asked for (seed, time window, scale) and the volumes that follow from it.

Volumes at `scale=1.0` are the customer's: 136 hospitals and about 13,600 customers. Everything that
counts people, machines or traffic is multiplied by `scale` (with floors, so that tiny test scales
still exercise every path).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from simulator.profiles import SimProfile, sim_profile

HOSPITALS_AT_SCALE_1 = 136
CUSTOMERS_AT_SCALE_1 = 13_600
OPERATORS_AT_SCALE_1 = 40
BRANCHES_AT_SCALE_1 = 12
ADS_CLICKS_PER_DAY_AT_SCALE_1 = 2_400  # across all campaigns
ORGANIC_LEADS_PER_DAY_AT_SCALE_1 = 80


@dataclass(frozen=True)
class SimConfig:
    seed: int = 42
    days: int = 365
    end: dt.date | None = None  # last simulated day (inclusive); default today (UTC)
    scale: float = 1.0
    bad_rows: bool = False
    profile: str = "ru-clinics"  # simulator/profiles.py
    mixed_currencies: bool = False  # a share of customer accounts (their vends and top-ups) in foreign currencies

    def __post_init__(self) -> None:
        sim_profile(self.profile)  # ValueError naming the profiles when unknown
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if not 0 < self.scale <= 100:
            raise ValueError("scale must be in (0, 100]")

    @property
    def business(self) -> SimProfile:
        return sim_profile(self.profile)

    @property
    def last_day(self) -> dt.date:
        return self.end or dt.datetime.now(dt.UTC).date()

    @property
    def first_day(self) -> dt.date:
        return self.last_day - dt.timedelta(days=self.days - 1)

    @property
    def start(self) -> dt.datetime:
        """Start of the simulated window (UTC midnight of the first day)."""
        return dt.datetime.combine(self.first_day, dt.time(), dt.UTC)

    @property
    def stop(self) -> dt.datetime:
        """End of the simulated window (exclusive): nothing happens at or after it."""
        return dt.datetime.combine(self.last_day + dt.timedelta(days=1), dt.time(), dt.UTC)

    def scaled(self, at_scale_1: float, floor: int) -> int:
        return max(floor, round(at_scale_1 * self.scale))

    @property
    def hospitals(self) -> int:
        return self.scaled(HOSPITALS_AT_SCALE_1, 2)

    @property
    def customers(self) -> int:
        return self.scaled(CUSTOMERS_AT_SCALE_1, 40)

    @property
    def operators(self) -> int:
        return self.scaled(OPERATORS_AT_SCALE_1, 4)

    @property
    def branches(self) -> int:
        return self.scaled(BRANCHES_AT_SCALE_1, 2)

    @property
    def ads_clicks_per_day(self) -> float:
        return max(60.0, ADS_CLICKS_PER_DAY_AT_SCALE_1 * self.scale)

    @property
    def organic_leads_per_day(self) -> float:
        return max(3.0, ORGANIC_LEADS_PER_DAY_AT_SCALE_1 * self.scale)
