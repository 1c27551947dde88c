"""The businesses the simulator can play: who they are, where, in what currency and language.

`ru-clinics` is Russian clinics with a call centre plus hospital vending in RUB (every dashboard has data);
`us-vending` is a vending network of 136 US hospitals from Hawaii to New York, in USD, with no clinics. The business
settings half of each profile (reporting currency, time zone, locale, week, fiscal year) is `pulse.core.business`;
this module holds what only the simulation needs. Amounts are simulated in minor units of the business currency:
the Russian price list (in kopecks) times `price_scale`.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from pulse.core.business import PROFILES, Business

Zones = list[tuple[str, int, list[tuple[str, str]]]]  # IANA zone, weight, (city, region) in it


@dataclass(frozen=True)
class SimProfile:
    name: str
    zones: Zones
    first_names: list[tuple[str, str]]  # (as written, latin handle for e-mails)
    last_names: list[tuple[str, str]]
    female_first_names: frozenset[str]
    feminine_surnames: bool  # Russian: Иванов -> Иванова
    phone_prefix: str  # followed by 10 digits
    email_domain: str
    hospital_name: Callable[[random.Random, int, str], str]  # (rng, number, city)
    machine_location: Callable[[int, int], str]  # (machine number, floor)
    contact_roles: list[str]
    bilingual: bool  # some people read the other report language (Russian clinics: English)
    plan_names: dict[str, str]  # commission plan code -> name
    card_brands: list[str]
    price_scale: float  # minor units of the business currency per kopeck of the Russian price list
    fx_start: dict[str, tuple[float, float]]  # currency -> (rate to the business currency, daily volatility)
    account_currencies: dict[str, float]  # --mixed-currencies: foreign account currency -> its units per business unit
    holidays: Callable[[dt.date], bool]  # days the hospitals run on a weekend's staff
    clinics: bool  # the CRM side: clinics, call centre, marketing, insurers' invoices

    @property
    def business(self) -> Business:
        return PROFILES[self.name]


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th (1-based; -1 = last) given weekday (0 = Monday) of a month."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = (dt.date(year + month // 12, month % 12 + 1, 1)) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def us_holiday(day: dt.date) -> bool:
    """US federal holidays hospitals staff like a weekend (observed dates of the fixed ones ignored)."""
    y = day.year
    return day in {
        dt.date(y, 1, 1), _nth_weekday(y, 1, 0, 3), _nth_weekday(y, 2, 0, 3), _nth_weekday(y, 5, 0, -1),
        dt.date(y, 6, 19), dt.date(y, 7, 4), _nth_weekday(y, 9, 0, 1), _nth_weekday(y, 10, 0, 2),
        dt.date(y, 11, 11), _nth_weekday(y, 11, 3, 4), dt.date(y, 12, 25),
    }  # fmt: skip


def ru_holiday(day: dt.date) -> bool:
    """Russian public holidays outside the New Year break (which season_factor already dips)."""
    return (day.month, day.day) in {(2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)}


RU_FIRST = [("Анна", "anna"), ("Мария", "maria"), ("Елена", "elena"), ("Ольга", "olga"), ("Наталья", "natalia"),
            ("Ирина", "irina"), ("Татьяна", "tatiana"), ("Светлана", "svetlana"), ("Юлия", "yulia"),
            ("Екатерина", "ekaterina"), ("Алексей", "alexey"), ("Дмитрий", "dmitry"), ("Сергей", "sergey"),
            ("Андрей", "andrey"), ("Иван", "ivan"), ("Михаил", "mikhail"), ("Николай", "nikolay"),
            ("Павел", "pavel"), ("Артём", "artem"), ("Виктория", "victoria")]  # fmt: skip
RU_LAST = [("Иванов", "ivanov"), ("Смирнов", "smirnov"), ("Кузнецов", "kuznetsov"), ("Попов", "popov"),
           ("Васильев", "vasiliev"), ("Петров", "petrov"), ("Соколов", "sokolov"), ("Михайлов", "mikhailov"),
           ("Новиков", "novikov"), ("Фёдоров", "fedorov"), ("Морозов", "morozov"), ("Волков", "volkov"),
           ("Алексеев", "alekseev"), ("Лебедев", "lebedev"), ("Семёнов", "semenov"), ("Егоров", "egorov"),
           ("Павлов", "pavlov"), ("Козлов", "kozlov"), ("Степанов", "stepanov"), ("Николаев", "nikolaev")]  # fmt: skip
US_FIRST = [("Emily", "emily"), ("Sarah", "sarah"), ("Jessica", "jessica"), ("Ashley", "ashley"),
            ("Maria", "maria"), ("Jennifer", "jennifer"), ("Olivia", "olivia"), ("Grace", "grace"),
            ("Keiko", "keiko"), ("Aaliyah", "aaliyah"), ("Michael", "michael"), ("David", "david"),
            ("James", "james"), ("Robert", "robert"), ("Carlos", "carlos"), ("Daniel", "daniel"),
            ("Anthony", "anthony"), ("Kevin", "kevin"), ("Jamal", "jamal"), ("Wei", "wei")]  # fmt: skip
US_LAST = [("Smith", "smith"), ("Johnson", "johnson"), ("Williams", "williams"), ("Brown", "brown"),
           ("Jones", "jones"), ("Garcia", "garcia"), ("Miller", "miller"), ("Davis", "davis"),
           ("Rodriguez", "rodriguez"), ("Martinez", "martinez"), ("Nguyen", "nguyen"), ("Kim", "kim"),
           ("Patel", "patel"), ("Anderson", "anderson"), ("Thomas", "thomas"), ("Jackson", "jackson"),
           ("White", "white"), ("Harris", "harris"), ("Lopez", "lopez"), ("Nakamura", "nakamura")]  # fmt: skip

RU_ZONES: Zones = [
    ("Europe/Moscow", 60, [("Москва", "Москва"), ("Санкт-Петербург", "Санкт-Петербург"), ("Казань", "Татарстан"),
                           ("Нижний Новгород", "Нижегородская область"), ("Воронеж", "Воронежская область")]),
    ("Europe/Samara", 6, [("Самара", "Самарская область")]),
    ("Asia/Yekaterinburg", 14, [("Екатеринбург", "Свердловская область"), ("Челябинск", "Челябинская область"),
                                ("Тюмень", "Тюменская область")]),
    ("Asia/Omsk", 4, [("Омск", "Омская область")]),
    ("Asia/Novosibirsk", 7, [("Новосибирск", "Новосибирская область")]),
    ("Asia/Krasnoyarsk", 5, [("Красноярск", "Красноярский край")]),
    ("Asia/Vladivostok", 4, [("Владивосток", "Приморский край")]),
]  # fmt: skip
# Every US time zone a hospital can be in, Arizona (no DST) and Hawaii included.
US_ZONES: Zones = [
    ("America/New_York", 40, [("New York", "NY"), ("Boston", "MA"), ("Atlanta", "GA"), ("Miami", "FL"),
                              ("Philadelphia", "PA"), ("Detroit", "MI")]),
    ("America/Chicago", 27, [("Chicago", "IL"), ("Houston", "TX"), ("Dallas", "TX"), ("Minneapolis", "MN"),
                             ("Nashville", "TN")]),
    ("America/Denver", 7, [("Denver", "CO"), ("Salt Lake City", "UT"), ("Albuquerque", "NM")]),
    ("America/Phoenix", 6, [("Phoenix", "AZ"), ("Tucson", "AZ")]),
    ("America/Los_Angeles", 16, [("Los Angeles", "CA"), ("San Francisco", "CA"), ("Seattle", "WA"),
                                 ("Portland", "OR"), ("Las Vegas", "NV")]),
    ("America/Anchorage", 1, [("Anchorage", "AK")]),
    ("Pacific/Honolulu", 3, [("Honolulu", "HI")]),
]  # fmt: skip


def _ru_hospital(rng: random.Random, number: int, city: str) -> str:
    kind = rng.choice(["Городская клиническая больница", "Областная больница", "Клиническая больница", "Центр"])
    return f"{kind} №{number} ({city})"


def _us_hospital(rng: random.Random, number: int, city: str) -> str:
    kind = rng.choice(["Medical Center", "General Hospital", "Memorial Hospital", "Regional Medical Center"])
    patron = rng.choice(["St. Mary's", "Mercy", "Providence", "Good Samaritan", "University", "Methodist", "Baptist"])
    return f"{patron} {kind} #{number} ({city})"


PROFILES_BY_NAME: dict[str, SimProfile] = {
    "ru-clinics": SimProfile(
        name="ru-clinics", zones=RU_ZONES, first_names=RU_FIRST, last_names=RU_LAST,
        female_first_names=frozenset(n for n, _ in RU_FIRST if n.endswith(("а", "я"))), feminine_surnames=True,
        phone_prefix="+79", email_domain="example.ru", hospital_name=_ru_hospital,
        machine_location=lambda k, floor: f"корпус {k}, этаж {floor}",
        contact_roles=["главная медсестра", "финансовый отдел"], bilingual=True,
        plan_names={"standard": "Стандартный", "premium": "Премиум"},
        card_brands=["MIR", "VISA", "MASTERCARD"], price_scale=1.0,
        fx_start={"USD": (91.5, 0.006), "EUR": (99.0, 0.006), "KZT": (0.19, 0.005), "CNY": (12.6, 0.005)},
        account_currencies={"USD": 0.011, "EUR": 0.0101}, holidays=ru_holiday, clinics=True,
    ),
    "us-vending": SimProfile(
        name="us-vending", zones=US_ZONES, first_names=US_FIRST, last_names=US_LAST,
        female_first_names=frozenset(n for n, _ in US_FIRST[:10]), feminine_surnames=False,
        phone_prefix="+1", email_domain="example.com", hospital_name=_us_hospital,
        machine_location=lambda k, floor: f"Building {k}, floor {floor}",
        contact_roles=["Nurse Manager", "Finance Office"], bilingual=False,
        plan_names={"standard": "Standard", "premium": "Premium"},
        card_brands=["VISA", "MASTERCARD", "AMEX"], price_scale=0.045,
        fx_start={"CAD": (0.73, 0.004), "MXN": (0.058, 0.006), "EUR": (1.08, 0.004)},
        account_currencies={"CAD": 1.37, "MXN": 17.2}, holidays=us_holiday, clinics=False,
    ),
}  # fmt: skip


def sim_profile(name: str) -> SimProfile:
    try:
        return PROFILES_BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown business profile {name!r}: one of {', '.join(PROFILES_BY_NAME)}") from None
