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
class SalesDrop:
    """One hospital's staff buy `percent` fewer kits over the last `days` days of the window (a ward closed, a rival
    machine in the lobby): the case a metric alert on a hospital's daily kits must catch, played by the whole
    pipeline instead of edited into a mart."""

    hospital: str  # the hospital's code, e.g. H002
    percent: float  # 100: nobody buys
    days: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.percent <= 100:
            raise ValueError("a sales drop is a percent in (0, 100]")
        if self.days < 1:
            raise ValueError("a sales drop lasts at least one day")

    @classmethod
    def parse(cls, text: str) -> SalesDrop:
        """`H002:80` (80% fewer on the last day) or `H002:80:3` (over the last three days)."""
        form = f"{text!r} is not CODE:PERCENT[:DAYS], e.g. H002:80"
        parts = text.split(":")
        if len(parts) not in (2, 3) or not parts[0]:
            raise ValueError(form)
        try:
            return cls(parts[0], float(parts[1]), int(parts[2]) if len(parts) == 3 else 1)
        except ValueError as err:
            raise ValueError(f"{form}: {err}") from None

    def factor(self, day: dt.date, last_day: dt.date) -> float:
        """What the hospital's demand is multiplied by on `day`."""
        return 1 - self.percent / 100 if day > last_day - dt.timedelta(days=self.days) else 1.0


@dataclass(frozen=True)
class SimConfig:
    seed: int = 42
    days: int = 365
    end: dt.date | None = None  # last simulated day (inclusive); default today (UTC)
    scale: float = 1.0
    bad_rows: bool = False
    profile: str = "ru-clinics"  # simulator/profiles.py
    mixed_currencies: bool = False  # a share of customer accounts (their vends and top-ups) in foreign currencies
    sales_drop: SalesDrop | None = None  # one hospital selling less at the end of the window

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
