"""Messages say what they are for and an NPS survey carries its 0-10 answer; invoices are receivable or payable, and
an insurer's refusal is of a receivable invoice, in its currency, never beyond what was invoiced. Each refused
request is the one an integrator (or an attacker) would try, and nothing of it is stored."""

from __future__ import annotations

from typing import Any

from tests.operational_api.conftest import Api


def _post(api: Api, path: str, body: dict[str, Any], scope: str = "integration") -> Any:
    return api.client.post(path, json=body, headers=api.headers(scope))


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _refused_at(response: Any, field: str) -> str:
    assert response.status_code == 422, response.text
    fields = response.json()["error"]["fields"]
    assert [f["loc"] for f in fields] == [["body", field]], fields
    return str(fields[0]["reason"])


def _contact(api: Api) -> int:
    return int(_created(_post(api, "/v1/contacts", {"full_name": "Анна Петрова"}))["id"])


def test_an_nps_answer_is_stored_on_the_survey_and_nowhere_else(api: Api) -> None:
    contact_id = _contact(api)
    survey = _created(_post(api, "/v1/messages", {"contact_id": contact_id, "channel": "sms", "template": "nps_v2",
                                                 "purpose": "nps_survey"}))  # fmt: skip
    assert (survey["purpose"], survey["nps_score"]) == ("nps_survey", None)
    h = api.headers("integration")
    answered = api.client.patch(f"/v1/messages/{survey['id']}", json={"nps_score": 9}, headers=h)
    assert answered.status_code == 200, answered.text
    assert answered.json()["nps_score"] == 9

    # A score outside 0-10, a score on a reminder (at creation or later), a purpose nobody defined: refused.
    assert _refused_at(api.client.patch(f"/v1/messages/{survey['id']}", json={"nps_score": 11}, headers=h), "nps_score")
    assert _refused_at(api.client.patch(f"/v1/messages/{survey['id']}", json={"nps_score": -1}, headers=h), "nps_score")
    reminder = {"contact_id": contact_id, "channel": "sms", "template": "remind", "purpose": "day_before_reminder"}
    reason = _refused_at(_post(api, "/v1/messages", {**reminder, "nps_score": 10}), "nps_score")
    assert reason == "the message's purpose is day_before_reminder, not nps_survey"
    stored = _created(_post(api, "/v1/messages", reminder))
    assert _refused_at(api.client.patch(f"/v1/messages/{stored['id']}", json={"nps_score": 3}, headers=h), "nps_score")
    # Turning the survey into a reminder would leave its score on a reminder.
    assert _refused_at(
        api.client.patch(f"/v1/messages/{survey['id']}", json={"purpose": "birthday"}, headers=h), "nps_score"
    )
    assert _refused_at(_post(api, "/v1/messages", {**reminder, "purpose": "spam_blast"}), "purpose")

    messages = api.client.get(f"/v1/messages?contact_id={contact_id}", headers=h).json()["items"]
    assert sorted((m["purpose"], m["nps_score"]) for m in messages) == [
        ("day_before_reminder", None),
        ("nps_survey", 9),
    ]
    assert [m["id"] for m in api.client.get("/v1/messages?purpose=nps_survey", headers=h).json()["items"]] == [
        survey["id"]
    ]


def _invoice(api: Api, counterparty_id: int, **fields: Any) -> dict[str, Any]:
    body = {"number": fields.pop("number", "INV-1"), "counterparty_id": counterparty_id, "issued_on": "2026-11-02",
            "amount": "1000.00", "currency": "USD", **fields}  # fmt: skip
    return _created(_post(api, "/v1/invoices", body))


def test_a_refusal_is_of_a_receivable_invoice_in_its_currency_and_within_its_amount(api: Api) -> None:
    insurer = _created(
        _post(api, "/v1/counterparties", {"name": "Ingo Insurance", "kind": "insurer", "currency": "USD"})
    )
    invoice = _invoice(api, insurer["id"])
    assert invoice["direction"] == "receivable"
    bill = _invoice(api, insurer["id"], number="BILL-1", direction="payable")

    refusal = {"invoice_id": invoice["id"], "refused_on": "2026-11-20", "amount": "150.00", "reason": "no_referral"}
    first = _created(_post(api, "/v1/invoice-refusals", refusal))
    assert (first["currency"], first["amount"]) == ("USD", "150.00")  # the invoice's currency by default

    reason = _refused_at(_post(api, "/v1/invoice-refusals", {**refusal, "amount": "850.01"}), "amount")
    assert reason == f"invoice {invoice['id']} is 1000.00 USD, 150.00 of it refused already"
    assert _refused_at(_post(api, "/v1/invoice-refusals", {**refusal, "amount": "0.00"}), "amount")
    assert _refused_at(_post(api, "/v1/invoice-refusals", {**refusal, "amount": "-5.00"}), "amount")
    assert _refused_at(_post(api, "/v1/invoice-refusals", {**refusal, "currency": "RUB"}), "currency")
    reason = _refused_at(_post(api, "/v1/invoice-refusals", {**refusal, "invoice_id": bill["id"]}), "invoice_id")
    assert reason == f"invoice {bill['id']} is payable: the company owes it"
    assert _refused_at(_post(api, "/v1/invoice-refusals", {**refusal, "invoice_id": 987654}), "invoice_id")
    assert _refused_at(_post(api, "/v1/invoice-refusals", {**refusal, "reason": "we_felt_like_it"}), "reason")
    # A correction of the refusal is judged without counting its own old amount.
    h = api.headers("integration")
    corrected = api.client.patch(f"/v1/invoice-refusals/{first['id']}", json={"amount": "1000.00"}, headers=h)
    assert corrected.status_code == 200, corrected.text

    # Once refused, the invoice cannot be moved from under its refusals: not to another currency or direction,
    # not below what was refused; a draft or cancelled invoice cannot be refused at all.
    inv = f"/v1/invoices/{invoice['id']}"
    assert _refused_at(api.client.patch(inv, json={"currency": "EUR"}, headers=h), "currency")
    assert _refused_at(api.client.patch(inv, json={"direction": "payable"}, headers=h), "direction")
    assert _refused_at(api.client.patch(inv, json={"amount": "999.99"}, headers=h), "amount")
    assert api.client.patch(inv, json={"status": "partially_paid"}, headers=h).status_code == 200
    draft = _invoice(api, insurer["id"], number="INV-2", status="draft")
    reason = _refused_at(_post(api, "/v1/invoice-refusals", {**refusal, "invoice_id": draft["id"]}), "invoice_id")
    assert reason == f"invoice {draft['id']} is draft: nobody owes it yet"
    assert api.client.get(inv, headers=h).json()["currency"] == "USD"

    stored = api.client.get(f"/v1/invoice-refusals?invoice_id={invoice['id']}", headers=h).json()["items"]
    assert [(r["amount"], r["reason"]) for r in stored] == [("1000.00", "no_referral")]
    assert api.client.get("/v1/invoice-refusals", headers=api.headers("portal")).status_code == 403
