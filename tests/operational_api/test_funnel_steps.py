"""Pipeline stages say which sales funnel step they stand for (the funnel marts count steps, not stage codes):
the CRM integration must send it, and it must agree with the stage's outcome."""

from __future__ import annotations

from typing import Any

from tests.operational_api.conftest import Api


def _pipeline(api: Api) -> int:
    response = api.client.post(
        "/v1/pipelines", json={"code": "clinic", "name": "Clinic"}, headers=api.headers("operator")
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _stage(api: Api, pipeline_id: int, code: str, **fields: object) -> Any:
    body = {"pipeline_id": pipeline_id, "code": code, "name": code, "position": 0, **fields}
    return api.client.post("/v1/pipeline-stages", json=body, headers=api.headers("integration"))


def _refusal(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    fields = response.json()["error"]["fields"]
    assert [f["loc"] for f in fields] == [["body", "funnel_step"]]
    return fields[0]  # type: ignore[no-any-return]


def test_a_stage_without_a_funnel_step_is_refused(api: Api) -> None:
    pipeline_id = _pipeline(api)
    _refusal(_stage(api, pipeline_id, "new"))
    _refusal(_stage(api, pipeline_id, "new", funnel_step="visited"))  # not a step
    stages = api.client.get("/v1/pipeline-stages", headers=api.headers("operator")).json()["items"]
    assert stages == []


def test_a_won_or_lost_stage_must_be_the_paid_or_lost_step(api: Api) -> None:
    pipeline_id = _pipeline(api)
    won = _refusal(_stage(api, pipeline_id, "won", is_won=True, funnel_step="attended"))
    assert won["reason"] == "a stage that wins the deal (is_won) is the 'paid' funnel step, not 'attended'"
    lost = _refusal(_stage(api, pipeline_id, "lost", is_lost=True, funnel_step="lead"))
    assert lost["reason"] == "a stage that loses the deal (is_lost) is the 'lost' funnel step, not 'lead'"
    assert _stage(api, pipeline_id, "won", is_won=True, funnel_step="paid").status_code == 201
    assert _stage(api, pipeline_id, "lost", is_lost=True, funnel_step="lost").status_code == 201


def test_a_stage_named_as_the_crm_likes_is_stored_with_its_step(api: Api) -> None:
    pipeline_id = _pipeline(api)
    created = _stage(api, pipeline_id, "zapis", name="Записан", position=2, funnel_step="booked")
    assert created.status_code == 201, created.text
    stage = api.client.get(f"/v1/pipeline-stages/{created.json()['id']}", headers=api.headers("operator")).json()
    assert (stage["code"], stage["name"], stage["funnel_step"]) == ("zapis", "Записан", "booked")
    booked = api.client.get("/v1/pipeline-stages?funnel_step=booked", headers=api.headers("operator")).json()
    assert [s["code"] for s in booked["items"]] == ["zapis"]


def test_a_change_cannot_make_the_step_contradict_the_outcome(api: Api) -> None:
    pipeline_id = _pipeline(api)
    stage_id = _stage(api, pipeline_id, "oplata", funnel_step="attended").json()["id"]
    h = api.headers("integration")
    refused = api.client.patch(f"/v1/pipeline-stages/{stage_id}", json={"is_won": True}, headers=h)
    assert _refusal(refused)["reason"].startswith("a stage that wins the deal (is_won) is the 'paid' funnel step")
    both = api.client.patch(f"/v1/pipeline-stages/{stage_id}", json={"is_won": True, "funnel_step": "paid"}, headers=h)
    assert both.status_code == 200 and both.json()["funnel_step"] == "paid"
