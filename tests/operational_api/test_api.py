"""The HTTP API: scopes, error shape, limits, idempotency keys, CRUD/upsert/pagination, stage moves."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from operational_api.db import Store
from tests.operational_api.conftest import Api
from tests.operational_api.factories import seed, vend_json, vends


def _assert_error(response_json: dict, code: str) -> None:  # type: ignore[type-arg]
    assert set(response_json) == {"error"}
    assert response_json["error"]["code"] == code
    assert isinstance(response_json["error"]["message"], str)
    assert isinstance(response_json["error"]["fields"], list)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("get", "/v1/contacts", {"operator", "integration", "admin"}),
        ("get", "/v1/hospitals", {"portal", "operator", "integration", "admin"}),
        ("get", "/v1/alerts", {"admin"}),
        ("post", "/v1/vend-transactions/batch", {"machine", "admin"}),
        ("post", "/v1/vend-authorisations", {"machine", "admin"}),
        ("post", "/v1/topups/batch", {"portal", "operator", "integration", "admin"}),
        ("post", "/v1/calls/batch", {"operator", "integration", "admin"}),
    ],
)
def test_scopes(api: Api, method: str, path: str, allowed: set[str]) -> None:
    call = getattr(api.client, method)
    kwargs = {} if method == "get" else {"json": {}}
    missing = call(path, **kwargs)
    assert missing.status_code == 401
    _assert_error(missing.json(), "unauthorized")
    wrong = call(path, headers={"Authorization": "Bearer pk_00000000_not-a-real-key"}, **kwargs)
    assert wrong.status_code == 401
    for scope in api.keys:
        response = call(path, headers=api.headers(scope), **kwargs)
        if scope in allowed:
            assert response.status_code in (200, 422), (scope, response.text)
        else:
            assert response.status_code == 403, (scope, response.text)
            _assert_error(response.json(), "forbidden")


def test_bad_input_names_the_field(api: Api, store: Store) -> None:
    world = seed(store)
    items = vend_json(vends(world, 5))
    items[3]["quantity"] = 0
    items[4]["unit_price"] = "12.345"
    response = api.client.post("/v1/vend-transactions/batch", json={"items": items}, headers=api.headers("machine"))
    assert response.status_code == 422
    body = response.json()
    _assert_error(body, "invalid")
    locs = [f["loc"] for f in body["error"]["fields"]]
    assert ["body", "items", 3, "quantity"] in locs
    assert ["body", "items", 4, "unit_price"] in locs
    response = api.client.post("/v1/contacts", content=b"{not json", headers=api.headers("operator"))
    assert response.status_code == 422
    response = api.client.post("/v1/contacts", json={"full_name": "x\x00y"}, headers=api.headers("operator"))
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["loc"] == ["body", "full_name"]
    response = api.client.get("/v1/contacts/99999999999999999999", headers=api.headers("operator"))
    assert response.status_code == 422
    response = api.client.get("/v1/contacts/12345", headers=api.headers("operator"))
    assert response.status_code == 404
    _assert_error(response.json(), "not_found")
    response = api.client.post(
        "/v1/leads", json={"channel": "call", "received_at": "2026-01-01T00:00:00Z", "contact_id": 424242},
        headers=api.headers("operator"),
    )  # fmt: skip
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["loc"] == ["body", "contact_id"]


def test_request_size_limit(api: Api) -> None:
    big = b'{"items": [' + b" " * (5 * 1024**2) + b"]}"
    response = api.client.post("/v1/vend-transactions/batch", content=big, headers=api.headers("machine"))
    assert response.status_code == 413
    _assert_error(response.json(), "too_large")

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(6):
            yield b" " * 1024**2

    response = api.client.post("/v1/vend-transactions/batch", content=chunks(), headers=api.headers("machine"))
    assert response.status_code == 413


def test_batch_limit(api: Api, store: Store) -> None:
    world = seed(store)
    items = vend_json(vends(world, 1))
    response = api.client.post(
        "/v1/vend-transactions/batch", json={"items": items * 10_001}, headers=api.headers("machine")
    )
    assert response.status_code in (413, 422)


def test_idempotency_key(api: Api, store: Store) -> None:
    world = seed(store)
    body = json.dumps({"items": vend_json(vends(world, 200))})
    headers = api.headers("machine", **{"Idempotency-Key": "batch-0001", "content-type": "application/json"})
    first = api.client.post("/v1/vend-transactions/batch", content=body, headers=headers)
    assert first.status_code == 200 and first.json()["created"] == 200
    for _ in range(10):
        again = api.client.post("/v1/vend-transactions/batch", content=body, headers=headers)
        assert again.status_code == first.status_code and again.content == first.content
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: api.client.post("/v1/vend-transactions/batch", content=body,
                                                          headers=headers), range(16)))  # fmt: skip
    assert {r.content for r in replies} == {first.content}
    other = json.dumps({"items": vend_json(vends(world, 3, prefix="x"))})
    clash = api.client.post("/v1/vend-transactions/batch", content=other, headers=headers)
    assert clash.status_code == 409
    _assert_error(clash.json(), "conflict")
    listed = api.client.get("/v1/vend-transactions?limit=1000", headers=api.headers("operator")).json()
    assert len(listed["items"]) == 200 and listed["next_cursor"] is None


def test_concurrent_batches_over_http_leave_one_copy(api: Api, store: Store) -> None:
    world = seed(store)
    payload = {"items": vend_json(vends(world, 300))}
    headers = api.headers("machine")
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: api.client.post("/v1/vend-transactions/batch", json=payload,
                                                          headers=headers), range(10)))  # fmt: skip
    assert all(r.status_code == 200 for r in replies)
    assert sum(r.json()["created"] for r in replies) == 300
    balance = api.client.get("/v1/customers/1/balance", headers=api.headers("portal")).json()
    assert balance["balance"] == str(100000 - 100 * 150) + ".00"


def test_crud_upsert_pagination_and_tombstones(api: Api) -> None:
    h = api.headers("integration")
    for n in range(25):
        response = api.client.put(f"/v1/contacts/by-external-id/MIS-{n}", json={"full_name": f"Patient {n}"}, headers=h)
        assert response.status_code == 201, response.text
    again = api.client.put("/v1/contacts/by-external-id/MIS-3", json={"full_name": "Renamed"}, headers=h)
    assert again.status_code == 200 and again.json()["full_name"] == "Renamed"
    seen, cursor = [], None
    while True:
        page = api.client.get("/v1/contacts", params={"limit": 10, **({"cursor": cursor} if cursor else {})}, headers=h)
        assert page.status_code == 200
        seen += [item["external_id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 25 and len(set(seen)) == 25
    assert api.client.get("/v1/contacts", params={"cursor": "garbage!"}, headers=h).status_code == 422
    forged = base64.urlsafe_b64encode(b"id:99999999999999999999999").decode()
    assert api.client.get("/v1/contacts", params={"cursor": forged}, headers=h).status_code == 422
    one = api.client.get("/v1/contacts", params={"external_id": "MIS-3"}, headers=h).json()["items"][0]
    assert api.client.delete(f"/v1/contacts/{one['id']}", headers=h).status_code == 204
    assert api.client.get(f"/v1/contacts/{one['id']}", headers=h).status_code == 404
    changed = api.client.get(
        "/v1/contacts", params={"changed_since": one["change_seq"], "include_deleted": True}, headers=h
    ).json()["items"]
    assert [c["id"] for c in changed] == [one["id"]] and changed[0]["deleted_at"] is not None
    assert changed[0]["change_seq"] > one["change_seq"]
    dup = api.client.post("/v1/contacts", json={"full_name": "X", "external_id": "MIS-4"}, headers=h)
    assert dup.status_code == 409
    patched = api.client.patch(f"/v1/contacts/{changed[0]['id'] + 1}", json={"city": "Omsk"}, headers=h)
    assert patched.status_code == 200 and patched.json()["city"] == "Omsk"
    assert (
        api.client.patch(f"/v1/contacts/{changed[0]['id'] + 1}", json={"full_name": None}, headers=h).status_code == 422
    )


def test_deal_stage_moves_write_history(api: Api) -> None:
    h = api.headers("operator")
    pipeline = api.client.post("/v1/pipelines", json={"code": "implants", "name": "Implants"}, headers=h).json()
    stages = [
        api.client.post("/v1/pipeline-stages", json={"pipeline_id": pipeline["id"], "code": code, "name": code,
                                                     "position": i, "is_won": code == "paid", "funnel_step": step},
                        headers=h).json()
        for i, (code, step) in enumerate([("new", "lead"), ("consult", "contacted"), ("paid", "paid")])
    ]  # fmt: skip
    deal = api.client.post(
        "/v1/deals", json={"pipeline_id": pipeline["id"], "stage_id": stages[0]["id"], "title": "Implant"}, headers=h
    ).json()
    for stage in stages[1:]:
        moved = api.client.post(f"/v1/deals/{deal['id']}/stage-moves", json={"stage_id": stage["id"]}, headers=h)
        assert moved.status_code == 200
    assert moved.json()["status"] == "won" and moved.json()["closed_at"] is not None
    history = api.client.get("/v1/deal-stage-history", params={"deal_id": deal["id"]}, headers=h).json()["items"]
    assert [(r["from_stage_id"], r["to_stage_id"]) for r in history] == [
        (None, stages[0]["id"]), (stages[0]["id"], stages[1]["id"]), (stages[1]["id"], stages[2]["id"])
    ]  # fmt: skip
    other = api.client.post("/v1/pipelines", json={"code": "other", "name": "Other"}, headers=h).json()
    foreign = api.client.post("/v1/pipeline-stages", json={"pipeline_id": other["id"], "code": "x", "name": "x",
                                                            "position": 0, "funnel_step": "lead"}, headers=h).json()  # fmt: skip
    bad = api.client.post(f"/v1/deals/{deal['id']}/stage-moves", json={"stage_id": foreign["id"]}, headers=h)
    assert bad.status_code == 422
    assert api.client.patch(f"/v1/deals/{deal['id']}", json={"stage_id": stages[0]["id"]}, headers=h).status_code == 422


def test_calls_and_topups_batches(api: Api, store: Store) -> None:
    seed(store)
    calls = [
        {"external_id": f"call-{n}", "direction": "inbound", "started_at": "2026-02-01T09:00:00Z",
         "duration_seconds": 30 + n, "outcome": "answered", "script_answers": {"q1": "yes", "score": n}}
        for n in range(50)
    ]  # fmt: skip
    for _ in range(3):
        response = api.client.post("/v1/calls/batch", json={"items": calls}, headers=api.headers("operator"))
        assert response.status_code == 200
    assert response.json() == {"received": 50, "created": 0, "duplicates": [c["external_id"] for c in calls]}
    calls[7]["script_answers"] = {"bad": "\u0000"}
    assert api.client.post("/v1/calls/batch", json={"items": calls}, headers=api.headers("operator")).status_code == 422
    topups = [
        {"entry_id": "payroll-1", "client_id": "C00000", "amount": "5000.00", "source": "payroll",
         "hospital_code": "H1", "occurred_at": "2026-02-01T00:00:00Z"},
        {"entry_id": "phone-1", "client_id": "C00001", "amount": "700", "source": "phone_operator",
         "occurred_at": "2026-02-01T00:00:00Z", "processor_ref": "ch_1"},
    ]  # fmt: skip
    response = api.client.post("/v1/topups/batch", json={"items": topups}, headers=api.headers("integration"))
    assert response.status_code == 200 and response.json()["created"] == 2
    topups[0]["hospital_code"] = "NOPE"
    topups[0]["entry_id"] = "payroll-2"
    response = api.client.post("/v1/topups/batch", json={"items": topups}, headers=api.headers("integration"))
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["loc"] == ["body", "items", 0, "hospital_code"]


def test_refund_marks_vend_and_credits(api: Api, store: Store) -> None:
    world = seed(store)
    api.client.post("/v1/vend-transactions", json=vend_json(vends(world, 1))[0], headers=api.headers("machine"))
    refund = {"entry_id": "r1", "customer_id": 1, "kind": "refund", "amount": "150.00",
              "occurred_at": "2026-01-02T00:00:00Z", "vend_transaction_id": "v-0000000"}  # fmt: skip
    for _ in range(2):
        assert (
            api.client.post("/v1/account-entries/adjustments", json=refund, headers=api.headers("admin")).status_code
            == 200
        )
    vend = api.client.get("/v1/vend-transactions/v-0000000", headers=api.headers("operator")).json()
    assert vend["status"] == "refunded"
    assert api.client.get("/v1/customers/1/balance", headers=api.headers("portal")).json()["balance"] == "100000.00"
    # A re-upload of the refunded vend is still a no-op, not a conflict.
    again = api.client.post("/v1/vend-transactions", json=vend_json(vends(world, 1))[0], headers=api.headers("machine"))
    assert again.status_code == 200 and again.json()["created"] == 0


def test_unmigrated_database_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from operational_api.app import create_app
    from operational_api.migrate import NotMigrated
    from pulse.core.settings import Settings

    settings = Settings(home=tmp_path, ops_database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(NotMigrated, match="pulse api migrate"), TestClient(create_app(settings=settings)):
        pass


def test_idempotency_key_on_plain_creates(api: Api) -> None:
    h = api.headers("operator", **{"Idempotency-Key": "call-create-1"})
    call = {"direction": "outbound", "started_at": "2026-03-01T10:00:00Z", "outcome": "booked"}
    first = api.client.post("/v1/calls", json=call, headers=h)
    assert first.status_code == 201
    again = api.client.post("/v1/calls", json=call, headers=h)
    assert again.status_code == 201 and again.content == first.content
    assert api.client.post("/v1/calls", json={**call, "outcome": "missed"}, headers=h).status_code == 409
    listed = api.client.get("/v1/calls", headers=api.headers("operator")).json()["items"]
    assert len(listed) == 1


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Europe/Moscow/Extra", "../etc/localtime", "America/New York"])
def test_a_time_zone_nobody_knows_is_a_422_naming_the_field(api: Api, zone: str) -> None:
    """A hospital's local dates come from its zone: an unknown one would silently count its days in UTC."""
    body = {"code": "HX", "name": "X", "city": "Tucson", "region": "AZ", "time_zone": zone}
    response = api.client.post("/v1/hospitals", json=body, headers=api.headers("admin"))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["fields"][0]["loc"] == ["body", "time_zone"]
    for accepted in ("America/Phoenix", "Pacific/Honolulu", "Asia/Kathmandu"):  # any IANA zone, no list in Pulse
        ok = api.client.post("/v1/hospitals", json={**body, "code": accepted.replace("/", "-"), "time_zone": accepted},
                             headers=api.headers("admin"))  # fmt: skip
        assert ok.status_code == 201, ok.text
        assert ok.json()["time_zone"] == accepted
