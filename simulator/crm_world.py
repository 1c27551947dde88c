"""The CRM side's reference data: operators (with their performance), clinic branches and doctors,
services, ad campaigns, counterparties (insurers, assistance companies, partner clinics), pipelines."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from operational_api import models as m
from simulator import names
from simulator.config import SimConfig
from simulator.rng import stream
from simulator.writer import Ids, Timeline

# What a lead books as the first (primary) visit: mostly a consultation, or a diagnostic scan.
SERVICES = {  # service: (price in kopecks, minutes, specialty)
    "Консультация терапевта": (250_000, 30, "терапевт"),
    "Консультация кардиолога": (380_000, 40, "кардиолог"),
    "УЗИ брюшной полости": (300_000, 30, "врач УЗИ"),
    "МРТ": (650_000, 60, "рентгенолог"),
    "Консультация стоматолога": (150_000, 30, "стоматолог"),
    "Профессиональная гигиена": (550_000, 60, "стоматолог"),
}
# Paid treatment after the first visit (repeat visits with the same doctor), by specialty: (service, price per visit
# in kopecks, minutes, share of attended patients who go on to it, most visits in the course). Dentists treat most of
# the patients they see; a scan rarely leads to more at the same clinic.
TREATMENTS = {
    "стоматолог": ("Лечение кариеса", 650_000, 60, 0.55, 4),
    "кардиолог": ("Лечение у кардиолога", 420_000, 40, 0.40, 3),
    "терапевт": ("Лечение у терапевта", 220_000, 30, 0.28, 2),
    "врач УЗИ": ("Контрольное УЗИ", 280_000, 30, 0.15, 1),
    "рентгенолог": ("МРТ с контрастом", 900_000, 60, 0.10, 1),
}
CHECK_UP = ("Контрольный осмотр", 20)  # a free follow-up (zero price, no policy): a repeat visit, not treatment
# How much more (or less) often than the specialty's share patients go on to treatment, by where the lead came from:
# referrals trust the clinic already; patients from cheap ad clicks compare prices.
SOURCE_TREATMENT = {"referral": 1.35, "call": 1.1, "walk_in": 1.0, "web_form": 0.9, "chat": 0.9,
                    "yandex_direct": 0.95, "google_ads": 1.05, "vk_ads": 0.7, "telegram_ads": 0.6}  # fmt: skip
BRANCH_TREATMENT = [1.25, 0.75, 1.0, 0.9, 1.1, 0.95]  # by branch number: some branches convert better
# platform, currency, cost per click, click-to-lead conversion, campaign themes
PLATFORMS = [
    ("yandex_direct", "RUB", 48.0, 0.045, ["mrt", "dentistry", "checkup"]),
    ("vk_ads", "RUB", 31.0, 0.030, ["dentistry", "cardio"]),
    ("google_ads", "USD", 0.55, 0.040, ["mrt"]),
    ("telegram_ads", "EUR", 0.48, 0.025, ["checkup"]),
]
# code, name, won, lost, funnel step (the CRM's own codes; the funnel finds its steps by funnel_step)
STAGES = [("new", "Новая", False, False, "lead"), ("contacted", "Связались", False, False, "contacted"),
          ("booked", "Записан", False, False, "booked"), ("attended", "Пришёл", False, False, "attended"),
          ("won", "Оплачено", True, False, "paid"), ("lost", "Потеряна", False, True, "lost")]  # fmt: skip
COUNTERPARTIES = [
    ("СОГАЗ", "insurer", "RU", "RUB"),
    ("Ингосстрах", "insurer", "RU", "RUB"),
    ("АльфаСтрахование", "insurer", "RU", "RUB"),
    ("Allianz Partners", "assistance", "FR", "EUR"),
    ("International SOS", "assistance", "SG", "USD"),
    ("Astana Medical Partner", "partner_clinic", "KZ", "KZT"),
    ("Harbin Health Partner", "partner_clinic", "CN", "CNY"),
]


@dataclass
class Operator:
    id: int
    external_id: str
    team: str
    reach: float  # chance an outbound attempt gets through
    speed_minutes: float  # median minutes from a new lead to the first call
    handle_minutes: float
    skill: float  # chance a reached lead books


@dataclass
class Campaign:
    id: int
    external_id: str
    platform: str
    currency: str
    cpc: float
    conversion: float
    utm_source: str
    utm_medium: str
    utm_campaign: str
    starts: dt.date
    ends: dt.date
    weight: float
    service: str


@dataclass
class Counterparty:
    id: int
    kind: str
    currency: str
    name: str


@dataclass
class CrmWorld:
    operators: list[Operator]  # people in the call centre
    support: list[Operator]  # people on the support line (phone top-ups)
    robots: list[int]
    branches: list[int]
    doctors: dict[int, list[tuple[int, str]]]  # branch id -> (doctor id, specialty)
    campaigns: list[Campaign]
    counterparties: list[Counterparty]
    pipeline_id: int
    stages: dict[str, int]
    branch_treatment: dict[int, float] = field(default_factory=dict)  # branch id -> factor on the treatment share


def build_crm_world(cfg: SimConfig, ids: Ids, timeline: Timeline) -> CrmWorld:
    rng = stream(cfg.seed, "crm-world")
    profile = cfg.business
    desk = "clinic" if profile.clinics else "support"
    long_ago = cfg.start - dt.timedelta(days=400)
    operators: list[Operator] = []
    support: list[Operator] = []
    for index in range(cfg.operators):
        team = "support" if index % 4 == 3 else "call_centre"
        name, handle, _ = names.person(rng, cfg.business)
        op = Operator(ids.next(m.Operator), f"op-{index + 1:03d}", team, reach=rng.uniform(0.45, 0.85),
                      speed_minutes=rng.lognormvariate(2.6, 0.8), handle_minutes=rng.uniform(2.5, 8.0),
                      skill=rng.uniform(0.35, 0.65))  # fmt: skip
        (support if team == "support" else operators).append(op)
        timeline.insert(m.Operator, {"id": op.id, "external_id": op.external_id, "name": name,
                                     "email": f"{handle}@{desk}.{profile.email_domain}", "team": team, "is_robot": False,
                                     "active": True}, long_ago)  # fmt: skip
    # One person leaves mid-year: deactivated, not deleted (their calls stay attributed).
    leaver = operators[-1]
    timeline.update(m.Operator, leaver.id, {"active": False}, cfg.start + dt.timedelta(days=cfg.days * 0.6))
    operators_active = operators[:-1] if len(operators) > 2 else operators
    if not profile.clinics:  # a vending network: its call centre only takes customers' calls (phone top-ups)
        return CrmWorld(operators_active, support or operators[:1], [], [], {}, [], [], 0, {})
    robots = []
    for code, title in (("robot-reminder", "Робот-напоминатель"), ("robot-nps", "Робот опроса NPS")):
        robot_id = ids.next(m.Operator)
        robots.append(robot_id)
        timeline.insert(m.Operator, {"id": robot_id, "external_id": code, "name": title, "email": None,
                                     "team": "robots", "is_robot": True, "active": True}, long_ago)  # fmt: skip

    branches: list[int] = []
    doctors: dict[int, list[tuple[int, str]]] = {}
    branch_treatment: dict[int, float] = {}
    cities = ["Москва", "Москва", "Санкт-Петербург", "Казань", "Екатеринбург", "Новосибирск"]
    specialties = sorted({spec for _, _, spec in SERVICES.values()})
    for index in range(max(3, cfg.branches)):  # at least three, so branches can be compared at any scale
        branch_id = ids.next(m.Branch)
        branches.append(branch_id)
        branch_treatment[branch_id] = BRANCH_TREATMENT[index % len(BRANCH_TREATMENT)]
        city = cities[index % len(cities)]
        timeline.insert(m.Branch, {"id": branch_id, "external_id": f"br-{index + 1:02d}",
                                   "name": f"Клиника «Пульс» №{index + 1}", "city": city,
                                   "address": f"ул. Ленина, {rng.randint(1, 200)}", "time_zone": "Europe/Moscow"},
                        long_ago)  # fmt: skip
        doctors[branch_id] = []
        for spec in specialties:
            for _ in range(rng.choice([1, 1, 2])):
                doctor_id = ids.next(m.Doctor)
                doctors[branch_id].append((doctor_id, spec))
                timeline.insert(m.Doctor, {"id": doctor_id, "external_id": f"dr-{doctor_id:04d}",
                                           "name": names.person(rng, cfg.business)[0], "specialty": spec,
                                           "branch_id": branch_id}, long_ago)  # fmt: skip

    campaigns: list[Campaign] = []
    theme_service = {"mrt": "МРТ", "dentistry": "Консультация стоматолога", "checkup": "Консультация терапевта",
                     "cardio": "Консультация кардиолога"}  # fmt: skip
    for platform, currency, cpc, conversion, themes in PLATFORMS:
        for theme in themes:
            for wave in range(2):
                # Two waves per theme: one over the first part of the window, one over the rest.
                starts = cfg.first_day + dt.timedelta(days=int(cfg.days * (0.0 if wave == 0 else 0.45)))
                ends = cfg.first_day + dt.timedelta(days=int(cfg.days * (0.5 if wave == 0 else 1.0)))
                campaign_id = ids.next(m.Campaign)
                utm_campaign = f"{theme}_{starts:%Y%m}"
                source = platform.split("_")[0]
                camp = Campaign(campaign_id, f"{platform}:{campaign_id}", platform, currency, cpc, conversion, source,
                                "cpc", utm_campaign, starts, ends, rng.uniform(0.5, 1.5), theme_service[theme])  # fmt: skip
                campaigns.append(camp)
                budget = Decimal(round(cpc * 3000 * rng.uniform(0.8, 1.2), 2)).quantize(Decimal("0.01"))
                timeline.insert(m.Campaign, {"id": campaign_id, "external_id": camp.external_id,
                                             "name": f"{platform} {theme} {starts:%Y-%m}", "channel": platform,
                                             "utm_source": source, "utm_medium": "cpc", "utm_campaign": utm_campaign,
                                             "starts_on": starts, "ends_on": ends, "budget": budget,
                                             "currency": currency},
                                max(long_ago, cfg.start + dt.timedelta(days=(starts - cfg.first_day).days) - dt.timedelta(days=2)))  # fmt: skip

    counterparties: list[Counterparty] = []
    for index, (name, kind, country, currency) in enumerate(COUNTERPARTIES):
        cp_id = ids.next(m.Counterparty)
        counterparties.append(Counterparty(cp_id, kind, currency, name))
        timeline.insert(m.Counterparty, {"id": cp_id, "external_id": f"cp-{index + 1:03d}", "name": name,
                                         "kind": kind, "country": country, "currency": currency}, long_ago)  # fmt: skip

    pipeline_id = ids.next(m.Pipeline)
    timeline.insert(m.Pipeline, {"id": pipeline_id, "code": "clinic", "name": "Пациенты клиники"}, long_ago)
    stages: dict[str, int] = {}
    for position, (code, title, won, lost, step) in enumerate(STAGES):
        stage_id = ids.next(m.PipelineStage)
        stages[code] = stage_id
        timeline.insert(m.PipelineStage, {"id": stage_id, "pipeline_id": pipeline_id, "code": code, "name": title,
                                          "position": position, "is_won": won, "is_lost": lost, "funnel_step": step},
                        long_ago)  # fmt: skip
    return CrmWorld(operators_active, support or operators[:1], robots, branches, doctors, campaigns, counterparties,
                    pipeline_id, stages, branch_treatment)  # fmt: skip
