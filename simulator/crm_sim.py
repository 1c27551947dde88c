"""Day-by-day simulation of the clinic CRM: ad spend and the leads it buys, organic leads, operators
calling them (speed to lead, answer rates and handle times differ per operator), the funnel
lead -> contacted -> booked -> attended -> paid with its drop-offs, no-shows and reschedules, insured
(zero-price) visits, robot reminder calls, messages by purpose (booking confirmations, day-before reminders and
same-day notices, birthday greetings, NPS surveys and their answers) with delivery events, and the later
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
from simulator.crm_world import CHECK_UP, SERVICES, SOURCE_TREATMENT, TREATMENTS, Campaign, CrmWorld, Operator
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
HEARD_FROM = ["search", "maps", "social", "friend", "doctor", "returning"]  # intake script: how_did_you_hear
# Each purpose's template code at the simulated clinics (the CRM's own names; the purpose is what Pulse reads).
TEMPLATES = {
    "booking_confirmation": "booking_confirmed", "day_before_reminder": "appointment_reminder",
    "same_day_notice": "visit_today", "birthday": "birthday_greeting", "nps_survey": "nps_survey",
}  # fmt: skip
ASKS_TO_CONFIRM = ("booking_confirmation", "day_before_reminder")
NPS_WEIGHTS = [2, 1, 1, 2, 2, 4, 5, 9, 16, 26, 32]  # answers 0..10


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
        self.call_rng = stream(cfg.seed, "calls")  # call scripts, robot follow-ups, PBX-only calls: their own stream
        self.treatment_rng = stream(cfg.seed, "treatment")  # who goes on to treatment after the first visit, and when
        self.spend_rng = stream(cfg.seed, "ad-spend-sync")  # days the CRM's sync missed, platforms' later credits
        self.msg_rng = stream(cfg.seed, "messages")  # reminders' replies, NPS answers, birthdays
        self.birthdays: dict[tuple[int, int], list[int]] = defaultdict(list)  # (month, day) -> contacts who consent

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
        for contact_id in self.birthdays.get((day.month, day.day), []):  # patients who agreed to marketing
            self._message(start + dt.timedelta(hours=10 - MSK), contact_id, None, "birthday", False)
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
        # Now and then the night's sync misses a day, or the platform later credits invalid clicks: its report (the
        # feed) then differs from what the CRM holds, which the spend reconciliation shows.
        roll = self.spend_rng.random()
        if roll >= 0.01:
            self.tl.insert(m.AdSpend, {"id": self.ids.next(m.AdSpend), "campaign_id": camp.id, "day": day,
                                       "amount": spend, "currency": camp.currency, "impressions": impressions,
                                       "clicks": clicks}, synced)  # fmt: skip
        reported = (spend * Decimal("0.97")).quantize(Decimal("0.01")) if roll > 0.96 else spend
        self.feeds.add("ad_spend", day, camp.external_id, {
            "date": day.isoformat(), "platform": camp.platform, "campaign_id": camp.external_id,
            "utm_campaign": camp.utm_campaign, "impressions": impressions, "clicks": clicks,
            "spend": f"{reported:.2f}", "currency": camp.currency})  # fmt: skip
        self.stats["ad_spend_days"] += 1

    # --- one lead's life -----------------------------------------------------------------------------

    def _contact(self, at: dt.datetime, source: str) -> tuple[int, str]:
        if self.contacts and self.rng.random() < 0.15:
            return self.rng.choice(self.contacts)
        contact_id = self.ids.next(m.Contact)
        full_name, handle, gender = names.person(self.rng, self.cfg.business)
        phone = names.phone(self.rng, self.cfg.business)
        birth_date = dt.date(1950, 1, 1) + dt.timedelta(days=self.rng.randrange(20_000))
        consent = self.rng.random() < 0.5
        self.tl.insert(m.Contact, {"id": contact_id, "external_id": f"mis-{contact_id:07d}", "full_name": full_name,
                                   "phone": phone, "email": f"{handle}{contact_id}@mail.example.ru",
                                   "birth_date": birth_date, "gender": gender, "city": "Москва", "source": source,
                                   "marketing_consent": consent}, at)  # fmt: skip
        roll = self.rng.random()
        if consent and not 0.01 <= roll < 0.014:  # greeted on their birthday, unless they asked to be forgotten
            self.birthdays[(birth_date.month, birth_date.day)].append(contact_id)
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
        # After the first visit (a consultation or a scan) a share of patients go on to paid treatment: a course of
        # repeat visits with the same doctor, each booked when the one before ends. The share is the specialty's,
        # more or less by branch and by where the lead came from; a policy covers its holder's treatment too. Some
        # of the others come back once for a free check-up (zero price, no policy): a repeat visit, not treatment.
        follow = self.treatment_rng
        treatment, treatment_price, treatment_minutes, share, most = TREATMENTS[specialty]
        source = camp.platform if camp else channel
        share *= self.world.branch_treatment.get(branch, 1.0) * SOURCE_TREATMENT.get(source, 1.0)
        course: list[tuple[str, int, int]] = []
        if follow.random() < share:
            course = [(treatment, treatment_price, treatment_minutes)] * follow.randint(1, most)
        elif follow.random() < 0.15:
            course = [(CHECK_UP[0], 0, CHECK_UP[1])]
        booked = done + dt.timedelta(hours=follow.uniform(0.2, 48))
        visit = done
        for visit_service, visit_price, visit_minutes in course:
            # 3-14 days after the visit before (a check-up: 2-6 weeks), 9:00-18:40 Moscow time: after `booked`.
            day = (visit + dt.timedelta(days=follow.uniform(3, 14) if visit_price else follow.uniform(14, 40))).date()
            hour, minute = follow.randrange(9, 19) - MSK, follow.choice([0, 20, 40])
            visit = day_start(day) + dt.timedelta(hours=hour, minutes=minute)
            outcome = follow.choices(["attended", "no_show", "cancelled"], weights=[88, 7, 5])[0]
            self._appointment(booked, contact_id, deal_id, lead_id, branch, doctor, visit_service, "repeat", visit,
                              visit_price, visit_minutes, insurer, None, outcome, phone)  # fmt: skip
            if insurer is not None and outcome == "attended":
                self.insured[(visit.year, visit.month)][insurer] += visit_price
            booked = visit + dt.timedelta(minutes=visit_minutes)

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
              script: dict[str, Any] | None = None, rng: Any = None) -> dt.datetime | None:  # fmt: skip
        """Log one call (CRM row when it ends, PBX feed row); returns when it was answered, if it was.

        An operator's answered call carries the intake script's answers unless `script` is given (some calls with
        none filled in, some questions left unanswered). Now and then the operator never logs the call in the CRM
        (the PBX feed has it all the same), or the CRM row lacks the recording the PBX holds. Those choices draw on
        `call_rng`, and `rng` (the main stream unless given) draws the call itself, so the rest of the simulation
        is the same with or without them."""
        rng = rng or self.rng
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
        extra = self.call_rng
        if answered and script is None and robot_id is None and op is not None and extra.random() < 0.9:
            script = self._intake_script(extra)
        if robot_id is not None or extra.random() >= 0.03:  # else: never logged in the CRM, only the PBX has it
            crm_recording = recording if extra.random() >= 0.08 else None  # the CRM's upload of it failed
            self.tl.insert(m.Call, {"id": call_id, "external_id": external_id, "direction": direction,
                                    "operator_id": operator_id, "contact_id": contact_id, "lead_id": lead_id,
                                    "deal_id": deal_id, "phone": phone, "started_at": at, "answered_at": answered_at,
                                    "ended_at": ended, "duration_seconds": talk, "outcome": outcome,
                                    "recording_url": crm_recording, "is_robot": robot_id is not None,
                                    "script_answers": script}, ended)  # fmt: skip
        else:
            self.stats["calls_pbx_only"] += 1
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

    def _intake_script(self, rng: Any) -> dict[str, Any]:
        """The operators' intake script: four questions, each left unanswered now and then (null)."""
        branch = rng.randrange(len(self.world.branches))
        answers = {
            "how_did_you_hear": rng.choice(HEARD_FROM),
            "service": rng.choice(list(SERVICES)),
            "preferred_branch": f"br-{branch + 1:02d}",  # the branches' external ids (crm_world)
            "consent": "yes" if rng.random() < 0.7 else "no",
        }
        skipped = {"how_did_you_hear": 0.15, "service": 0.05, "preferred_branch": 0.25, "consent": 0.1}
        return {
            "script": "new_lead",
            "answers": {q: None if rng.random() < skipped[q] else a for q, a in answers.items()},
        }

    def _robot_follow_up(self, robot_at: dt.datetime, contact_id: int, phone: str, lead_id: int, deal_id: int,
                         will_come: bool) -> None:  # fmt: skip
        """A robot call that did not get a yes: often an operator calls the patient, mostly within hours (the
        next morning when the robot called late), sometimes only two days later."""
        rng = self.call_rng
        if rng.random() >= 0.55:
            return
        late = rng.random() < 0.1
        at = robot_at + dt.timedelta(hours=rng.uniform(40, 52) if late else rng.uniform(0.5, 6))
        at = working_time(at, rng)
        op = rng.choice(self.world.operators)
        answered = rng.random() < op.reach
        confirms = will_come if rng.random() < 0.9 else None
        answers: dict[str, str | None] = {"confirm_visit": None if confirms is None else ("yes" if confirms else "no")}
        if confirms is False:  # asked only of a patient who will not come
            answers["reschedule"] = None if rng.random() < 0.2 else ("yes" if rng.random() < 0.4 else "no")
        script = {"script": "visit_confirmation", "answers": answers}
        self._call(at, "outbound", op, contact_id, phone, lead_id, deal_id, answered=answered,
                   script=script if answered else None, rng=rng)  # fmt: skip

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
        # Patients who will not come confirm less often: unconfirmed visits are the ones clinics call about.
        will_come = outcome == "attended" or (outcome == "no_show" and self.msg_rng.random() < 0.35)
        confirmed_at = self._message(booked_at + MIN, contact_id, appt_id, "booking_confirmation", will_come)
        confirmed_at = self._message(remind_at, contact_id, appt_id, "day_before_reminder", will_come) or confirmed_at
        if rng.random() < 0.6:
            robot_at = remind_at + dt.timedelta(hours=rng.uniform(1, 6))
            yes = outcome == "attended" or rng.random() < 0.3
            answered = rng.random() < 0.7
            self._call(robot_at, "outbound", None, contact_id, phone, lead_id, deal_id, answered=answered,
                       robot_id=self.world.robots[0],
                       script={"question": "confirm_visit", "answer": "yes" if yes else "no"} if answered else None)  # fmt: skip
            if answered and yes and confirmed_at is None:
                confirmed_at = robot_at + 2 * MIN
            if not (answered and yes):
                self._robot_follow_up(robot_at, contact_id, phone, lead_id, deal_id, outcome != "cancelled")
        if confirmed_at is not None and confirmed_at < when:
            self.tl.update(m.Appointment, appt_id, {"status": "confirmed"}, confirmed_at)
        if outcome == "cancelled":
            self.tl.update(
                m.Appointment, appt_id, {"status": "cancelled"}, when - dt.timedelta(hours=rng.uniform(2, 20))
            )
        else:
            if self.msg_rng.random() < 0.7:  # the morning of the visit
                notice_at = max(when - dt.timedelta(hours=self.msg_rng.uniform(2, 4)), booked_at + 20 * MIN)
                self._message(notice_at, contact_id, appt_id, "same_day_notice", False)
            self.tl.update(m.Appointment, appt_id, {"status": outcome}, when + dt.timedelta(minutes=minutes))
            if outcome == "attended" and rng.random() < 0.5:
                self._message(when + dt.timedelta(hours=3), contact_id, appt_id, "nps_survey", False, branch=branch)
        return appt_id

    def _message(
        self, at: dt.datetime, contact_id: int, appt_id: int | None, purpose: str, will_confirm: bool,
        branch: int | None = None,
    ) -> dt.datetime | None:  # fmt: skip
        """A message and its delivery events (and a patient's confirmation by reply, or NPS answer); returns when
        the recipient confirmed, if they did."""
        rng = self.rng
        msg_id = self.ids.next(m.Message)
        external_id = f"msg-{msg_id:08d}"
        channel = rng.choices(MESSAGE_CHANNELS, weights=[40, 30, 15, 15])[0]
        template = TEMPLATES[purpose]
        self.tl.insert(m.Message, {"id": msg_id, "external_id": external_id, "contact_id": contact_id,
                                   "appointment_id": appt_id, "channel": channel, "template": template,
                                   "purpose": purpose, "status": "sent", "sent_at": at, "delivered_at": None,
                                   "read_at": None, "confirmed_at": None}, at)  # fmt: skip
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
            # Clinics see about 80% of patients confirm by reply; a reply means the message was read.
            confirms = will_confirm and purpose in ASKS_TO_CONFIRM and self.msg_rng.random() < 0.84
            answers = purpose == "nps_survey" and self.msg_rng.random() < 0.45
            if confirms or answers or rng.random() < (0.8 if channel in ("whatsapp", "telegram") else 0.55):
                read = delivered + dt.timedelta(minutes=rng.lognormvariate(3, 1.2))
                events.append(("read", read))
                self.tl.update(m.Message, msg_id, {"status": "read", "read_at": read}, read)
                if confirms:
                    confirmed = read + dt.timedelta(minutes=self.msg_rng.uniform(0.5, 30))
                    events.append(("confirmed", confirmed))
                    self.tl.update(m.Message, msg_id, {"status": "confirmed", "confirmed_at": confirmed}, confirmed)
                if answers:
                    # Scores lean to promoters, a little less at the busiest branch.
                    shift = 1 if branch is not None and branch == self.world.branches[0] else 0
                    weights = NPS_WEIGHTS[shift:] + [0] * shift
                    score = self.msg_rng.choices(range(11), weights=weights)[0]
                    # The answer reaches the CRM (the providers' delivery events do not carry it).
                    replied = read + dt.timedelta(minutes=self.msg_rng.uniform(1, 600))
                    self.tl.update(m.Message, msg_id, {"nps_score": score}, replied)
        for event, when in events:
            self.feeds.add("messages", when.date(), f"{stamp(when)}{external_id}{event}", {
                "message_id": external_id, "channel": channel, "event": event, "ts": stamp(when),
                "template": template})  # fmt: skip
        self.stats["messages"] += 1
        return confirmed
