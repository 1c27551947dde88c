"""Call recordings and call scripts end to end: calls POSTed through the API (and written into the store and the PBX
feed the way other integrations could), extracted, loaded and built, then read from the warehouse.

An attacker controls a call's recording_url (integrators POST calls; the PBX file is anybody's text). The
dashboard's recordings table renders HTML, so the warehouse must expose only http(s) links, and the mart's anchor
must be built from an escaped web link only: no stored value can produce a script, an event handler or another
element."""

from __future__ import annotations

import csv
import datetime as dt
import io
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient

from extractors.feeds import load_feeds
from extractors.pipeline import extract
from operational_api.app import create_app
from operational_api.models import Call
from pulse.dbt.runner import DbtSession
from tests.operational_api.factories import keys_for_every_scope
from tests.platform import Platform

pytestmark = pytest.mark.xdist_group("dbt_project")

STARTED = "2026-01-20T10:00:00Z"
ATTRIBUTE_BREAKOUT = 'https://x/"><img/src=x/onerror=alert(1)>'  # no space: the API's URL pattern accepts it
SCRIPT_IN_PATH = "https://x/'><script>alert(1)</script>"
SAFE = "https://rec.example.ru/a.mp3?x=1&y=2"
FEED_COLUMNS = ["call_id", "started_at", "answered_at", "ended_at", "direction", "operator_id", "phone",
                "duration_seconds", "outcome", "recording_url", "is_robot"]  # fmt: skip


class Anchors(HTMLParser):
    """Every start tag and its attributes, and the text, of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(fragment: str) -> Anchors:
    parser = Anchors()
    parser.feed(fragment)
    parser.close()
    return parser


def call(external_id: str, **fields: Any) -> dict[str, Any]:
    return {"external_id": external_id, "direction": "outbound", "started_at": STARTED, "answered_at": STARTED,
            "ended_at": "2026-01-20T10:02:00Z", "duration_seconds": 110, "outcome": "answered", **fields}  # fmt: skip


def pbx_row(call_id: str, recording_url: str) -> dict[str, str]:
    return {"call_id": call_id, "started_at": STARTED, "answered_at": STARTED, "ended_at": "2026-01-20T10:02:00Z",
            "direction": "inbound", "operator_id": "", "phone": "+70000000000", "duration_seconds": "120",
            "outcome": "answered", "recording_url": recording_url, "is_robot": "false"}  # fmt: skip


def post_calls(platform: Platform) -> None:
    with platform.store.write() as session:
        keys = keys_for_every_scope(session)
    app = create_app(store=platform.store, settings=platform.settings)
    headers = {"Authorization": f"Bearer {keys['integration']}"}
    with TestClient(app, raise_server_exceptions=False) as client:
        # The API refuses a link that is not http(s) ...
        refused = client.post("/v1/calls", json=call("attack-js", recording_url="javascript:alert(1)"), headers=headers)
        assert refused.status_code == 422, refused.text
        # ... but its pattern lets a quote and an element through, and script answers are any JSON object.
        calls = [
            call("attack-attr", recording_url=ATTRIBUTE_BREAKOUT,
                 script_answers={"script": "new_lead", "answers": {"service": "МРТ", "consent": None, "how": ""}}),
            call("attack-pbx-link", script_answers={"question": "confirm_visit", "answer": "yes"}),
            call("safe-link", recording_url=SAFE, script_answers={"consent": "yes", "rating": 5}),
        ]  # fmt: skip
        response = client.post("/v1/calls/batch", json={"items": calls}, headers=headers)
        assert response.status_code == 200 and response.json()["created"] == 3, response.text
    # Integrations that write the store directly (or an older API) are not held to the API's pattern.
    with platform.store.write() as session:
        session.add(Call(external_id="attack-store", direction="inbound", outcome="answered",
                         started_at=dt.datetime(2026, 1, 20, 10, tzinfo=dt.UTC),
                         recording_url="javascript:alert(document.cookie)"))  # fmt: skip
    # The PBX's file: a javascript: link for a call the CRM logged without one, and a call only the PBX has.
    feed = platform.settings.landing_dir / "telephony"
    feed.mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FEED_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerow(pbx_row("attack-pbx-link", "JavaScript:alert(1)"))
    writer.writerow(pbx_row("attack-pbx-only", SCRIPT_IN_PATH))
    writer.writerow(pbx_row("safe-pbx-only", "https://pbx.example.ru/safe.mp3"))
    (feed / "calls_2026-01-20-attack.csv").write_text(out.getvalue())


def test_attacker_controlled_recording_links_never_become_html(platform: Platform) -> None:
    post_calls(platform)
    settings = platform.settings
    extract(settings)
    load_feeds(platform.client(), settings.resolved_landing_url)
    # The models and every data test on them (web_url, html_web_link) pass with the attack in the data.
    built = DbtSession(settings).build(
        "--select", "+mart_call_recordings", "+mart_call_scripts", "--indirect-selection", "cautious"
    )
    assert built.success, built.failures
    client = platform.client()

    def one(sql: str) -> Any:
        return client.query(sql).result_rows

    # The raw layer has the attacker's text; the warehouse's fact does not.
    raw = dict(one("SELECT external_id, recording_url FROM raw.calls WHERE external_id LIKE 'attack-%'"))
    assert raw["attack-attr"] == ATTRIBUTE_BREAKOUT and raw["attack-store"] == "javascript:alert(document.cookie)"
    fact = dict(one("SELECT pbx_call_id, recording_url FROM marts.fct_calls WHERE pbx_call_id IN "
                    "('attack-attr', 'attack-store', 'attack-pbx-link', 'safe-link')"))  # fmt: skip
    assert fact == {"attack-attr": None, "attack-store": None, "attack-pbx-link": None, "safe-link": SAFE}

    # Only the safe links are listed: the PBX's javascript: link does not stand in for the CRM's missing one.
    listed = {r[0]: r[1:] for r in one("SELECT pbx_call_id, call_id, recording_url, recording_link"
                                       " FROM marts.mart_call_recordings WHERE pbx_call_id LIKE 'attack-%'"
                                       " OR pbx_call_id LIKE 'safe-%'")}  # fmt: skip
    assert set(listed) == {"safe-link", "safe-pbx-only"}
    assert listed["safe-link"][1:] == (
        SAFE,
        '<a href="https://rec.example.ru/a.mp3?x=1&amp;y=2" target="_blank" rel="noopener noreferrer">Listen</a>',
    )
    assert listed["safe-pbx-only"][0] == 0  # a call only the PBX has, listed with its link

    # Every link the dashboard renders is one anchor to an http(s) URL with nothing else in it.
    links = [r[0] for r in one("SELECT recording_link FROM marts.mart_call_recordings")]
    assert len(links) > 10
    for link in links:
        html = parsed(link)
        [(tag, attributes)] = html.tags
        assert tag == "a" and set(attributes) == {"href", "target", "rel"}, link
        assert str(attributes["href"]).startswith(("https://", "http://")), link
        assert "".join(html.text) == "Listen", link


def test_script_answers_are_typed_from_every_shape(platform: Platform) -> None:
    post_calls(platform)
    settings = platform.settings
    extract(settings)
    load_feeds(platform.client(), settings.resolved_landing_url)
    built = DbtSession(settings).build("--select", "+mart_call_scripts", "--indirect-selection", "cautious")
    assert built.success, built.failures
    rows = (
        platform.client()
        .query(
            "SELECT pbx_call_id, script_name, script_answers FROM marts.fct_calls"
            " WHERE pbx_call_id IN ('attack-attr', 'attack-pbx-link', 'safe-link', 'attack-store')"
        )
        .result_rows
    )
    typed = {r[0]: (r[1], dict(r[2])) for r in rows}
    assert typed == {
        "attack-attr": ("new_lead", {"service": "МРТ", "consent": "", "how": ""}),
        "attack-pbx-link": ("confirm_visit", {"confirm_visit": "yes"}),
        "safe-link": ("", {"consent": "yes", "rating": "5"}),
        "attack-store": (None, {}),
    }
    questions = (
        platform.client()
        .query(
            "SELECT question, answer, is_question_answered, is_script_completed FROM marts.mart_call_scripts"
            " WHERE call_id = (SELECT call_id FROM marts.fct_calls WHERE pbx_call_id = 'attack-attr')"
            " ORDER BY question_position"
        )
        .result_rows
    )
    assert questions == [
        ("service", "МРТ", True, False),
        ("consent", "(not answered)", False, False),
        ("how", "(not answered)", False, False),
    ]
