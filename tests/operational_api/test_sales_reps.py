"""Sales reps and their territories over HTTP, as an integrator keeping them in sync and as keys that must not
read them: scopes, 422s naming the field, 409 on a duplicate, a territory that comes back after removal."""

from __future__ import annotations

from typing import Any

import pytest

from tests.operational_api.conftest import Api

REPS = "/v1/sales-reps"
TERRITORIES = "/v1/sales-rep-territories"


def _hospital(api: Api, code: str) -> int:
    body = {"code": code, "name": f"Hospital {code}", "city": "Moscow", "region": "Moscow",
            "time_zone": "Europe/Moscow"}  # fmt: skip
    response = api.client.post("/v1/hospitals", json=body, headers=api.headers("admin"))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _rep(api: Api, email: str = "anna.petrova@sales.example.ru", **extra: Any) -> dict[str, Any]:
    body = {"name": "Петрова Анна", "email": email, "locale": "ru", **extra}
    response = api.client.post(REPS, json=body, headers=api.headers("integration"))
    assert response.status_code == 201, response.text
    return dict(response.json())


def _field_errors(response: Any) -> list[list[object]]:
    return [field["loc"] for field in response.json()["error"]["fields"]]


@pytest.mark.parametrize("path", [REPS, TERRITORIES])
def test_only_integrations_and_admins_read_or_write_sales_reps(api: Api, path: str) -> None:
    """Names and work addresses: a hospital's own key, a machine, the portal or an operator gets a 403."""
    for scope in api.keys:
        listed = api.client.get(path, headers=api.headers(scope))
        written = api.client.post(path, json={}, headers=api.headers(scope))
        if scope in ("integration", "admin"):
            assert listed.status_code == 200, (scope, listed.text)
            assert written.status_code == 422, (scope, written.text)
        else:
            assert listed.status_code == 403, (scope, listed.text)
            assert listed.json()["error"]["code"] == "forbidden"
            assert written.status_code == 403, (scope, written.text)
    assert api.client.get(path).status_code == 401


def test_a_hospital_key_cannot_read_a_rep_or_their_territory(api: Api) -> None:
    hospital_id = _hospital(api, "H-REP-1")
    rep = _rep(api)
    territory = api.client.post(TERRITORIES, json={"sales_rep_id": rep["id"], "hospital_id": hospital_id},
                                headers=api.headers("integration"))  # fmt: skip
    assert territory.status_code == 201, territory.text
    for path in (
        f"{REPS}/{rep['id']}",
        f"{TERRITORIES}/{territory.json()['id']}",
        f"{TERRITORIES}?hospital_id={hospital_id}",
    ):
        response = api.client.get(path, headers=api.headers("hospital"))
        assert response.status_code == 403, (path, response.text)
        assert "Петрова" not in response.text and "anna" not in response.text
    refused = api.client.patch(f"{REPS}/{rep['id']}", json={"status": "inactive"}, headers=api.headers("hospital"))
    assert refused.status_code == 403
    deleted = api.client.delete(f"{TERRITORIES}/{territory.json()['id']}", headers=api.headers("portal"))
    assert deleted.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "email": "not-an-address", "locale": "en"}, "email"),
        ({"name": "A", "email": "two@at@example.com", "locale": "en"}, "email"),
        ({"name": "A", "email": "a@example.com", "locale": "de"}, "locale"),
        ({"name": "A", "email": "a@example.com"}, "locale"),
        ({"name": "A", "email": "a@example.com", "locale": "en", "status": "fired"}, "status"),
        ({"name": "", "email": "a@example.com", "locale": "en"}, "name"),
        ({"name": "A", "email": "a@example.com", "locale": "en", "territory": [1]}, "territory"),
    ],
)
def test_a_bad_rep_is_a_422_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    response = api.client.post(REPS, json=body, headers=api.headers("integration"))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid"
    assert ["body", field] in _field_errors(response)


def test_an_address_is_one_rep_whatever_its_case(api: Api) -> None:
    rep = _rep(api, email="Ivan.Sidorov@Sales.Example.ru")
    assert rep["email"] == "ivan.sidorov@sales.example.ru" and rep["status"] == "active"
    again = api.client.post(REPS, json={"name": "Другой", "email": "IVAN.SIDOROV@sales.example.ru", "locale": "en"},
                            headers=api.headers("integration"))  # fmt: skip
    assert again.status_code == 409, again.text
    assert ["body", "email"] in _field_errors(again)
    other = _rep(api, email="olga@sales.example.ru")
    taken = api.client.patch(f"{REPS}/{other['id']}", json={"email": "ivan.sidorov@SALES.example.ru"},
                             headers=api.headers("admin"))  # fmt: skip
    assert taken.status_code == 409
    bad_locale = api.client.patch(f"{REPS}/{other['id']}", json={"locale": "fr"}, headers=api.headers("integration"))
    assert bad_locale.status_code == 422 and ["body", "locale"] in _field_errors(bad_locale)
    moved = api.client.patch(f"{REPS}/{other['id']}", json={"status": "inactive", "locale": "en"},
                             headers=api.headers("integration"))  # fmt: skip
    assert moved.status_code == 200 and moved.json()["status"] == "inactive"
    active = api.client.get(f"{REPS}?status=active", headers=api.headers("integration")).json()["items"]
    assert [row["id"] for row in active] == [rep["id"]]


def test_a_territory_names_a_live_rep_and_hospital_once(api: Api) -> None:
    hospital_id = _hospital(api, "H-REP-2")
    rep = _rep(api)
    post = lambda body: api.client.post(TERRITORIES, json=body, headers=api.headers("integration"))  # noqa: E731
    unknown_hospital = post({"sales_rep_id": rep["id"], "hospital_id": 987654})
    assert unknown_hospital.status_code == 422
    assert _field_errors(unknown_hospital) == [["body", "hospital_id"]]
    unknown_rep = post({"sales_rep_id": 987654, "hospital_id": hospital_id})
    assert unknown_rep.status_code == 422
    assert _field_errors(unknown_rep) == [["body", "sales_rep_id"]]
    assert post({"sales_rep_id": rep["id"]}).status_code == 422

    first = post({"sales_rep_id": rep["id"], "hospital_id": hospital_id})
    assert first.status_code == 201, first.text
    duplicate = post({"sales_rep_id": rep["id"], "hospital_id": hospital_id})
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.json()["error"]["code"] == "conflict"
    assert {"sales_rep_id", "hospital_id"} <= {loc[-1] for loc in _field_errors(duplicate)}

    # A hospital leaves the territory and comes back: the same row lives again (its pair is unique for ever).
    territory_id = first.json()["id"]
    assert api.client.delete(f"{TERRITORIES}/{territory_id}", headers=api.headers("integration")).status_code == 204
    listed = api.client.get(f"{TERRITORIES}?sales_rep_id={rep['id']}", headers=api.headers("integration"))
    assert listed.json()["items"] == []
    back = post({"sales_rep_id": rep["id"], "hospital_id": hospital_id})
    assert back.status_code == 201, back.text
    assert back.json()["id"] == territory_id and back.json()["deleted_at"] is None
    assert back.json()["change_seq"] > first.json()["change_seq"]

    # A rep who left is not a rep a territory may name.
    gone = _rep(api, email="gone@sales.example.ru")
    assert api.client.delete(f"{REPS}/{gone['id']}", headers=api.headers("admin")).status_code == 204
    refused = post({"sales_rep_id": gone["id"], "hospital_id": hospital_id})
    assert refused.status_code == 422 and _field_errors(refused) == [["body", "sales_rep_id"]]
