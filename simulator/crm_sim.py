"""Day-by-day simulation of the clinic CRM: ad spend and the leads it buys, organic leads, operators
calling them (speed to lead, answer rates and handle times differ per operator), the funnel
lead -> contacted -> booked -> attended -> paid with its drop-offs, no-shows and reschedules, insured
(zero-price) visits, robot reminder calls, reminder messages and their delivery events, and the later
edits and deletions (tombstones) a CRM sees.

A lead's whole future is decided when it arrives and scheduled on the timeline at the moments it
happens: the store only ever shows what had happened by the end of the window.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from operational_api import models as m
from simulator import names
from simulator.calendar import day_start, season_factor
from simulator.config import SimConfig
from simulator.crm_world import SERVICES, Campaign, CrmWorld, Operator
from simulator.feeds import FeedWriter, stamp
from simulator.rng import np_stream, stream
from simulator.vending_world import in_account, money
from simulator.writer import Ids, Timeline

MIN = dt.timedelta(minutes=1)
MSK = 3  # the call centre and clinics work on Moscow time
FOREIGN_DEAL_SHARE = 0.08  # --mixed-currencies: deals of foreign patients, in their currency
ORGANIC_CHANNELS = [("web_form", "web", 0.35), ("call", "phone", 0.35), ("referral", "referral", 0.15),
                    ("chat", "web", 0.10), ("walk_in", "other", 0.05)]  # fmt: skip
MESSAGE_CHANNELS = ["sms", "whatsapp", "telegram", "email"]


def working_time(at: dt.datetime, rng: Any, open_hour: int = 8, close_hour: int = 21) -> dt.datetime:
    """The first moment at or after `at` when the call centre works (Moscow hours)."""
    local = at + dt.timedelta(hours=MSK)
    if local.hour < open_hour:
        local = local.replace(hour=open_hour, minute=0, second=0) + dt.timedelta(minutes=rng.uniform(0, 40))
    elif local.hour >= close_hour:
        local = (local + dt.timedelta(days=1)).replace(hour=open_hour, minute=0, second=0)
        local += dt.timedelta(minutes=rng.uniform(0, 60))
    return local - dt.timedelta(hours=MSK)


def rescheduled_at(booked_at: dt.datetime, when: dt.datetime) -> dt.datetime:
    """The patient asks to move the visit the day before it (but never before it was booked)."""
    return max(when - dt.timedelta(days=1), booked_at + dt.timedelta(hours=1))


class CrmSim:
    def __init__(self, cfg: SimConfig, world: CrmWorld, ids: Ids, timeline: Timeline, feeds: FeedWriter):
        self.cfg = cfg
        self.world = world
        self.ids = ids
        self.tl = timeline
        self.feeds = feeds
        self.rng = stream(cfg.seed, "crm")
        self.np_rng = np_stream(cfg.seed, "crm-counts")
        self.stats: Counter[str] = Counter()
        self.contacts: list[tuple[int, str]] = []  # (id, phone) of known patients
        # Insured attended visits for invoicing: (year, month) -> counterparty index -> minor units of the business
        self.insured: dict[tuple[int, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.insurers = [i for i, cp in enumerate(world.counterparties) if cp.kind in ("insurer", "assistance")]
        self.currency = cfg.business.business.currency
        self.mixed_rng = stream(cfg.seed, "foreign-deals")  # its own stream: the rest is the same either way

    def _deal_price(self, minor: int) -> dict[str, object]:
        """A deal's amount and currency: the clinic's price list, or with --mixed-currencies a foreign patient's
        price in their currency now and then (converted at the profile's list rate, in whole units)."""
        foreign = self.cfg.business.account_currencies
        if self.cfg.mixed_currencies and self.mixed_rng.random() < FOREIGN_DEAL_SHARE:
            currency = self.mixed_rng.choice(sorted(foreign))
            return {"amount": money(in_account(minor, foreign[currency], step=100)), "currency": currency}
        return {"amount": money(minor), "currency": self.currency}

    # --- a day ---------------------------------------------------------------------------------------

    def run_day(self, day: dt.date) -> None:
        start = day_start(day)
        factor = season_factor(day) * (0.75 if day.weekday() >= 5 else 1.0)
        active = [c for c in self.world.campaigns if c.starts <= day <= c.ends]
        total_weight = sum(c.weight for c in active) or 1.0
        for camp in active:
            clicks = int(self.np_rng.poisson(self.cfg.ads_clicks_per_day * factor * camp.weight / total_weight))
            self._ad_spend(day, camp, clicks)
            for _ in range(int(self.np_rng.binomial(clicks, camp.conversion))):
                self._lead(self._arrival(start), "web_form", "ads", camp)
        for _ in range(int(self.np_rng.poisson(self.cfg.organic_leads_per_day * factor))):
            channel, source, _ = self.rng.choices(ORGANIC_CHANNELS, weights=[w for *_, w in ORGANIC_CHANNELS])[0]
            self._lead(self._arrival(start), channel, source, None)
        for _ in range(int(self.np_rng.poisson(3 * self.cfg.scale + 1))):  # spam and wrong numbers: PBX only
            at = start + dt.timedelta(hours=self.rng.uniform(0, 24))
            call_id = f"pbx-{day:%Y%m%d}-{self.rng.randrange(10**8):08d}"
            self.feeds.add("telephony", at.date(), f"{stamp(at)}{call_id}", {
                "call_id": call_id, "started_at": stamp(at), "answered_at": "", "ended_at": stamp(at + 20 * MIN / 60),
                "direction": "inbound", "operator_id": "", "phone": names.phone(self.rng, self.cfg.business), "duration_seconds": 0,
                "outcome": "missed", "recording_url": "", "is_robot": "false"})  # fmt: skip

    def _arrival(self, start: dt.datetime) -> dt.datetime:
        """People reach out mostly between 9:00 and 23:00 Moscow time."""
        local_hour = self.rng.uniform(9, 23) if self.rng.random() < 0.88 else self.rng.uniform(0, 9)
        return start + dt.timedelta(hours=local_hour - MSK, seconds=self.rng.randrange(60))

    def _ad_spend(self, day: dt.date, camp: Campaign, clicks: int) -> None:
        ctr = self.rng.uniform(0.008, 0.03)
        impressions = int(clicks / ctr) if clicks else int(self.rng.uniform(50, 500))
        spend = Decimal(clicks * camp.cpc * self.rng.uniform(0.85, 1.15)).quantize(Decimal("0.01"))
        synced = day_start(day) + dt.timedelta(days=1, hours=3)  # the CRM pulls yesterday's spend at night
        self.tl.insert(m.AdSpend, {"id": self.ids.next(m.AdSpend), "campaign_id": camp.id, "day": day, "amount": spend,
                                   "currency": camp.currency, "impressions": impressions, "clicks": clicks}, synced)  # fmt: skip
        self.feeds.add("ad_spend", day, camp.external_id, {
            "date": day.isoformat(), "platform": camp.platform, "campaign_id": camp.external_id,
            "utm_campaign": camp.utm_campaign, "impressions": impressions, "clicks": clicks, "spend": f"{spend:.2f}",
            "currency": camp.currency})  # fmt: skip
        self.stats["ad_spend_days"] += 1

    # --- one lead's life -----------------------------------------------------------------------------

    def _contact(self, at: dt.datetime, source: str) -> tuple[int, str]:
        if self.contacts and self.rng.random() < 0.15:
            return self.rng.choice(self.contacts)
        contact_id = self.ids.next(m.Contact)
        full_name, handle, gender = names.person(self.rng, self.cfg.business)
        phone = names.phone(self.rng, self.cfg.business)
        self.tl.insert(m.Contact, {"id": contact_id, "external_id": f"mis-{contact_id:07d}", "full_name": full_name,
                                   "phone": phone, "email": f"{handle}{contact_id}@mail.example.ru",
                                   "birth_date": dt.date(1950, 1, 1) + dt.timedelta(days=self.rng.randrange(20_000)),
                                   "gender": gender, "city": "Москва", "source": source,
                                   "marketing_consent": self.rng.random() < 0.5}, at)  # fmt: skip
        roll = self.rng.random()
        if roll < 0.01:  # the patient changed their phone number later
            self.tl.update(
                m.Contact,
                contact_id,
                {"phone": names.phone(self.rng, self.cfg.business)},
                at + dt.timedelta(days=self.rng.uniform(5, 90)),
            )
        elif roll < 0.014:  # asked to be forgotten
            self.tl.tombstone(m.Contact, contact_id, at + dt.timedelta(days=self.rng.uniform(10, 120)))
        self.contacts.append((contact_id, phone))
        return contact_id, phone

    def _lead(self, at: dt.datetime, channel: str, source: str, camp: Campaign | None) -> None:
        rng = self.rng
        op = rng.choice(self.world.operators)
        contact_id, phone = self._contact(at, source)
        lead_id = self.ids.next(m.Lead)
        service = camp.service if camp else rng.choice(list(SERVICES))
        lead = {"id": lead_id, "external_id": f"lead-{lead_id:07d}", "contact_id": contact_id, "channel": channel,
                "campaign_id": camp.id if camp else None, "utm_source": camp.utm_source if camp else None,
                "utm_medium": camp.utm_medium if camp else None, "utm_campaign": camp.utm_campaign if camp else None,
                "utm_content": f"ad{rng.randint(1, 4)}" if camp else None, "utm_term": None,
                "service_of_interest": service, "status": "new", "lost_reason": None, "assigned_operator_id": op.id,
                "received_at": at}  # fmt: skip
        self.tl.insert(m.Lead, lead, at)
        self.stats["leads"] += 1
        if rng.random() < 0.03:  # spam or a duplicate: deleted by a supervisor
            self.tl.tombstone(m.Lead, lead_id, at + dt.timedelta(hours=rng.uniform(1, 48)))
            return
        deal_id = self.ids.next(m.Deal)
        price, minutes, specialty = SERVICES[service]
        self.tl.insert(m.Deal, {"id": deal_id, "external_id": f"deal-{deal_id:07d}", "pipeline_id": self.world.pipeline_id,
                                "stage_id": self.world.stages["new"], "contact_id": contact_id, "lead_id": lead_id,
                                "operator_id": op.id, "title": f"{service}", **self._deal_price(price),
                                "status": "open", "stage_changed_at": at, "closed_at": None}, at)  # fmt: skip
        self._history(deal_id, None, "new", op.id, at)
        stage = "new"

        def move(to: str, when: dt.datetime, comment: str | None = None) -> None:
            nonlocal stage
            status = "won" if to == "won" else "lost" if to == "lost" else "open"
            self.tl.update(m.Deal, deal_id, {"stage_id": self.world.stages[to], "status": status,
                                             "stage_changed_at": when,
                                             "closed_at": when if status != "open" else None}, when)  # fmt: skip
            self._history(deal_id, stage, to, op.id, when, comment)
            stage = to

        def lose(reason: str, when: dt.datetime) -> None:
            self.tl.update(m.Lead, lead_id, {"status": "lost", "lost_reason": reason}, when)
            move("lost", when, reason)

        # Reaching the person: inbound callers are on the line already; others get up to 3 attempts.
        reached_at: dt.datetime | None = None
        if channel == "call":
            reached_at = self._call(at, "inbound", op, contact_id, phone, lead_id, deal_id, answered=rng.random() < 0.9)
            if reached_at is None:  # missed: call back
                at = working_time(at + dt.timedelta(minutes=rng.uniform(5, 60)), rng)
        if reached_at is None:
            attempt_at = working_time(at + dt.timedelta(minutes=rng.lognormvariate(0, 0.7) * op.speed_minutes), rng)
            for attempt in range(3):
                reached_at = self._call(attempt_at, "outbound", op, contact_id, phone, lead_id, deal_id,
                                        answered=rng.random() < op.reach)  # fmt: skip
                if reached_at is not None:
                    break
                attempt_at = working_time(attempt_at + dt.timedelta(hours=rng.uniform(2, 26) * (attempt + 1)), rng)
        if reached_at is None:
            lose("no_answer", attempt_at + dt.timedelta(days=1))
            return
        self.tl.update(m.Lead, lead_id, {"status": "in_progress"}, reached_at)
        move("contacted", reached_at)
        booking_chance = op.skill * (1.25 if channel in ("call", "referral") else 1.0)
        if rng.random() >= booking_chance:
            lose(rng.choice(["not_interested", "too_expensive", "chose_another_clinic"]), reached_at + 30 * MIN)
            return
        self.tl.update(m.Lead, lead_id, {"status": "qualified"}, reached_at)
        move("booked", reached_at)
        insured = rng.random() < 0.15
        insurer = rng.choice(self.insurers) if insured else None
        branch = rng.choice(self.world.branches)
        doctor = rng.choice([d for d, spec in self.world.doctors[branch] if spec == specialty] or [None])
        when = self._slot(reached_at)
        outcome = rng.choices(["attended", "no_show", "cancelled", "rescheduled"], weights=[78, 11, 7, 4])[0]
        first_id = self._appointment(reached_at, contact_id, deal_id, lead_id, branch, doctor, service, "primary",
                                     when, price, minutes, insurer, None, outcome, phone)  # fmt: skip
        if outcome == "rescheduled":
            moved_at = rescheduled_at(reached_at, when)
            when = self._slot(moved_at)
            outcome = rng.choices(["attended", "no_show", "cancelled"], weights=[80, 12, 8])[0]
            self._appointment(moved_at, contact_id, deal_id, lead_id, branch, doctor, service, "primary", when, price,
                              minutes, insurer, first_id, outcome, phone)  # fmt: skip
        done = when + dt.timedelta(minutes=minutes)
        if outcome != "attended":
            lose(outcome, done + dt.timedelta(hours=rng.uniform(1, 24)))
            return
        move("attended", done)
        if insurer is not None:
            self.insured[(when.year, when.month)][insurer] += price
        if rng.random() < 0.93:
            self.tl.update(m.Lead, lead_id, {"status": "converted"}, done + 10 * MIN)
            move("won", done + 10 * MIN)
            if rng.random() < 0.03:  # the amount was corrected after a discount
                self.tl.update(m.Deal, deal_id, {"amount": money(round(price * 0.9))}, done + dt.timedelta(days=2))
        else:
            lose("did_not_pay", done + dt.timedelta(days=3))
        if rng.random() < 0.25:  # a follow-up visit
            follow = self._slot(done + dt.timedelta(days=rng.uniform(14, 40)))
            repeat_outcome = "attended" if rng.random() < 0.85 else "no_show"
            self._appointment(done + dt.timedelta(days=1), contact_id, deal_id, lead_id, branch, doctor, service,
                              "repeat", follow, price, minutes, insurer, None, repeat_outcome, phone)  # fmt: skip
            if insurer is not None and repeat_outcome == "attended":
                self.insured[(follow.year, follow.month)][insurer] += price

    def _slot(self, after: dt.datetime) -> dt.datetime:
        day = (after + dt.timedelta(days=self.rng.randint(1, 10))).date()
        hour = self.rng.choice(range(9, 19))
        return day_start(day) + dt.timedelta(hours=hour - MSK, minutes=self.rng.choice([0, 20, 40]))

    def _history(self, deal_id: int, from_stage: str | None, to: str, op_id: int, at: dt.datetime,
                 comment: str | None = None) -> None:  # fmt: skip
        self.tl.insert(m.DealStageHistory, {"id": self.ids.next(m.DealStageHistory), "deal_id": deal_id,
                                            "from_stage_id": None if from_stage is None else self.world.stages[from_stage],
                                            "to_stage_id": self.world.stages[to], "operator_id": op_id,
                                            "changed_at": at, "comment": comment}, at)  # fmt: skip

    def _call(self, at: dt.datetime, direction: str, op: Operator | None, contact_id: int, phone: str,
              lead_id: int | None, deal_id: int | None, *, answered: bool, robot_id: int | None = None,
              script: dict[str, Any] | None = None) -> dt.datetime | None:  # fmt: skip
        """Log one call (CRM row when it ends, PBX feed row); returns when it was answered, if it was."""
        rng = self.rng
        call_id = self.ids.next(m.Call)
        external_id = f"pbx-{call_id:09d}"
        ring = dt.timedelta(seconds=rng.randint(3, 25))
        answered_at = at + ring if answered else None
        talk = int(rng.lognormvariate(0, 0.4) * (op.handle_minutes if op else 1.5) * 60) if answered else 0
        ended = (answered_at + dt.timedelta(seconds=talk)) if answered_at else at + ring + dt.timedelta(seconds=15)
        outcome = "answered" if answered else rng.choices(["missed", "busy", "voicemail"], weights=[6, 2, 2])[0]
        if answered and direction == "outbound" and script is None and rng.random() < 0.2:
            outcome = "callback"
        operator_id = robot_id if robot_id is not None else (op.id if op else None)
        recording = f"https://pbx.example.ru/recordings/{external_id}.mp3" if answered else None
        self.tl.insert(m.Call, {"id": call_id, "external_id": external_id, "direction": direction,
                                "operator_id": operator_id, "contact_id": contact_id, "lead_id": lead_id,
                                "deal_id": deal_id, "phone": phone, "started_at": at, "answered_at": answered_at,
                                "ended_at": ended, "duration_seconds": talk, "outcome": outcome,
                                "recording_url": recording, "is_robot": robot_id is not None,
                                "script_answers": script}, ended)  # fmt: skip
        operator_code = (
            ("robot-reminder" if robot_id is not None else (op.external_id if op else "")) if operator_id else ""
        )
        self.feeds.add("telephony", at.date(), f"{stamp(at)}{external_id}", {
            "call_id": external_id, "started_at": stamp(at), "answered_at": stamp(answered_at),
            "ended_at": stamp(ended), "direction": direction, "operator_id": operator_code, "phone": phone,
            "duration_seconds": talk, "outcome": outcome, "recording_url": recording or "",
            "is_robot": "true" if robot_id is not None else "false"})  # fmt: skip
        self.stats["calls_robot" if robot_id is not None else "calls"] += 1
        return answered_at

    def _appointment(self, booked_at: dt.datetime, contact_id: int, deal_id: int, lead_id: int, branch: int,
                     doctor: int | None, service: str, visit_type: str, when: dt.datetime, price: int, minutes: int,
                     insurer: int | None, rescheduled_from: int | None, outcome: str, phone: str) -> int:  # fmt: skip
        rng = self.rng
        appt_id = self.ids.next(m.Appointment)
        self.tl.insert(m.Appointment, {
            "id": appt_id, "external_id": f"appt-{appt_id:07d}", "contact_id": contact_id, "deal_id": deal_id,
            "lead_id": lead_id, "branch_id": branch, "doctor_id": doctor, "service": service, "visit_type": visit_type,
            "status": "booked", "scheduled_at": when, "duration_minutes": minutes,
            # Insured visits cost the patient nothing: the insurer is invoiced monthly.
            "price": Decimal("0.00") if insurer is not None else money(price), "currency": self.currency,
            "insurance_policy": insurer is not None,
            "insurer_id": None if insurer is None else self.world.counterparties[insurer].id,
            "rescheduled_from_id": rescheduled_from}, booked_at)  # fmt: skip
        self.stats[f"appointments_{visit_type}"] += 1
        if outcome == "rescheduled":
            self.tl.update(m.Appointment, appt_id, {"status": "rescheduled"}, rescheduled_at(booked_at, when))
            return appt_id
        # The day before: a reminder message, and often a robot call asking to confirm.
        remind_at = day_start((when - dt.timedelta(days=1)).date()) + dt.timedelta(hours=10 - MSK)
        remind_at = max(remind_at, booked_at + 10 * MIN)
        confirmed_at = self._message(remind_at, contact_id, appt_id, "appointment_reminder", outcome != "cancelled")
        if rng.random() < 0.6:
            robot_at = remind_at + dt.timedelta(hours=rng.uniform(1, 6))
            yes = outcome == "attended" or rng.random() < 0.3
            answered = rng.random() < 0.7
            self._call(robot_at, "outbound", None, contact_id, phone, lead_id, deal_id, answered=answered,
                       robot_id=self.world.robots[0],
                       script={"question": "confirm_visit", "answer": "yes" if yes else "no"} if answered else None)  # fmt: skip
            if answered and yes and confirmed_at is None:
                confirmed_at = robot_at + 2 * MIN
        if confirmed_at is not None and confirmed_at < when:
            self.tl.update(m.Appointment, appt_id, {"status": "confirmed"}, confirmed_at)
        if outcome == "cancelled":
            self.tl.update(
                m.Appointment, appt_id, {"status": "cancelled"}, when - dt.timedelta(hours=rng.uniform(2, 20))
            )
        else:
            self.tl.update(m.Appointment, appt_id, {"status": outcome}, when + dt.timedelta(minutes=minutes))
            if outcome == "attended" and rng.random() < 0.5:
                self._message(when + dt.timedelta(hours=3), contact_id, appt_id, "nps_survey", False)
        return appt_id

    def _message(
        self, at: dt.datetime, contact_id: int, appt_id: int, template: str, will_confirm: bool
    ) -> dt.datetime | None:
        """A message and its delivery events; returns when the recipient confirmed, if they did."""
        rng = self.rng
        msg_id = self.ids.next(m.Message)
        external_id = f"msg-{msg_id:08d}"
        channel = rng.choices(MESSAGE_CHANNELS, weights=[40, 30, 15, 15])[0]
        self.tl.insert(m.Message, {"id": msg_id, "external_id": external_id, "contact_id": contact_id,
                                   "appointment_id": appt_id, "channel": channel, "template": template,
                                   "status": "sent", "sent_at": at, "delivered_at": None, "read_at": None,
                                   "confirmed_at": None}, at)  # fmt: skip
        events = [("sent", at)]
        confirmed: dt.datetime | None = None
        if rng.random() < 0.04:
            failed_at = at + dt.timedelta(seconds=rng.randint(5, 300))
            events.append(("bounced" if channel == "email" else "failed", failed_at))
            self.tl.update(m.Message, msg_id, {"status": "failed"}, failed_at)
        else:
            delivered = at + dt.timedelta(seconds=rng.randint(2, 180))
            events.append(("delivered", delivered))
            self.tl.update(m.Message, msg_id, {"status": "delivered", "delivered_at": delivered}, delivered)
            if rng.random() < (0.8 if channel in ("whatsapp", "telegram") else 0.55):
                read = delivered + dt.timedelta(minutes=rng.lognormvariate(3, 1.2))
                events.append(("read", read))
                self.tl.update(m.Message, msg_id, {"status": "read", "read_at": read}, read)
                if will_confirm and template == "appointment_reminder" and rng.random() < 0.6:
                    confirmed = read + dt.timedelta(minutes=rng.uniform(0.5, 30))
                    events.append(("confirmed", confirmed))
                    self.tl.update(m.Message, msg_id, {"status": "confirmed", "confirmed_at": confirmed}, confirmed)
        for event, when in events:
            self.feeds.add("messages", when.date(), f"{stamp(when)}{external_id}{event}", {
                "message_id": external_id, "channel": channel, "event": event, "ts": stamp(when),
                "template": template})  # fmt: skip
        self.stats["messages"] += 1
        return confirmed
