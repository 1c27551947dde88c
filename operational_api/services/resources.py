"""Every resource served by the generic CRUD routes, with its schemas, filters and scopes."""

from __future__ import annotations

from pydantic import BaseModel

from operational_api import models as m
from operational_api.schemas import alerts as a
from operational_api.schemas import crm as c
from operational_api.schemas import sales_reps as sr
from operational_api.schemas import vending as v
from operational_api.schemas.common import partial
from operational_api.services.alert_rules import rule_before_write
from operational_api.services.common import default_to_business_currency
from operational_api.services.crm import (
    deal_after_write,
    deal_before_write,
    invoice_before_write,
    invoice_refusal_before_write,
    message_before_write,
    pipeline_stage_before_write,
)
from operational_api.services.crud import Resource
from operational_api.services.vending import customer_before_write

ADMIN_ONLY = ("admin",)
READ_ALL = ("portal", "operator", "integration")
CRM = ("operator", "integration")
# People and territories a CRM or HR integration keeps in sync (admin keys too); names and work addresses, so
# not for machines, the portal, operators or a hospital's own key.
PEOPLE = ("integration",)


def _res(
    name: str,
    model: type[m.Base],
    create: type[BaseModel] | None,
    out: type[BaseModel],
    *,
    filters: tuple[str, ...] = (),
    tag: str = "crm",
    read: tuple[str, ...] = CRM,
    write: tuple[str, ...] = CRM,
    patch_exclude: tuple[str, ...] = (),
    **kw: object,
) -> Resource:
    patch = kw.pop("patch", None)
    if patch is None and create is not None:
        patch = partial(create, f"{create.__name__.removesuffix('In')}Patch", exclude=patch_exclude)
    return Resource(
        name=name,
        model=model,
        out=out,
        create=create,
        patch=patch,  # type: ignore[arg-type]
        filters=filters,
        read_scopes=read,
        write_scopes=write,
        tag=tag,
        **kw,  # type: ignore[arg-type]
    )


RESOURCES: list[Resource] = [
    # Vending reference data: the owner (admin) maintains it; everyone may read it.
    _res("commission-plans", m.CommissionPlan, v.CommissionPlanIn, v.CommissionPlanOut, filters=("code",),
         tag="vending", read=READ_ALL, write=ADMIN_ONLY, before_write=default_to_business_currency),
    _res("commission-tiers", m.CommissionTier, v.CommissionTierIn, v.CommissionTierOut, filters=("plan_id",),
         tag="vending", read=READ_ALL, write=ADMIN_ONLY),
    _res("hospitals", m.Hospital, v.HospitalIn, v.HospitalOut, filters=("code", "city", "region"),
         tag="vending", read=READ_ALL, write=ADMIN_ONLY),
    _res("report-contacts", m.ReportContact, v.ReportContactIn, v.ReportContactOut, filters=("hospital_id",),
         tag="vending", read=ADMIN_ONLY, write=ADMIN_ONLY),
    _res("sales-reps", m.SalesRep, sr.SalesRepIn, sr.SalesRepOut, filters=("email", "status", "locale"),
         tag="vending", read=PEOPLE, write=PEOPLE),
    _res("sales-rep-territories", m.SalesRepTerritory, sr.SalesRepTerritoryIn, sr.SalesRepTerritoryOut,
         filters=("sales_rep_id", "hospital_id"), tag="vending", read=PEOPLE, write=PEOPLE,
         revive_by=("sales_rep_id", "hospital_id")),
    _res("machines", m.Machine, v.MachineIn, v.MachineOut, filters=("serial", "hospital_id", "status"),
         tag="vending", read=READ_ALL, write=ADMIN_ONLY),
    _res("products", m.Product, v.ProductIn, v.ProductOut, filters=("sku", "kit_type", "size"),
         tag="vending", read=READ_ALL, write=ADMIN_ONLY),
    _res("product-prices", m.ProductPrice, v.ProductPriceIn, v.ProductPriceOut, filters=("product_id",),
         tag="vending", read=READ_ALL, write=ADMIN_ONLY, before_write=default_to_business_currency),
    _res("machine-stock", m.MachineStock, v.MachineStockIn, v.MachineStockOut,
         filters=("machine_id", "product_id"), tag="vending", read=READ_ALL, write=ADMIN_ONLY),
    _res("customers", m.Customer, v.CustomerIn, v.CustomerOut, patch=v.CustomerPatch,
         filters=("client_id", "home_hospital_id", "status", "acquisition_channel"),
         tag="vending", read=("portal", "operator"), write=("portal",),
         before_write=customer_before_write),
    _res("alerts", m.Alert, a.AlertIn, a.AlertOut, filters=("kind", "status", "customer_id", "rule_id", "subject"),
         tag="alerts", read=ADMIN_ONLY, write=ADMIN_ONLY),
    _res("alert-rules", m.AlertRule, a.AlertRuleIn, a.AlertRuleOut, filters=("kind", "severity", "enabled", "name"),
         tag="alerts", read=ADMIN_ONLY, write=ADMIN_ONLY, before_write=rule_before_write),
    _res("topup-failures", m.TopupFailure, a.TopupFailureIn, a.TopupFailureOut,
         filters=("customer_id", "source", "attempt_id"), tag="vending", read=("portal", "operator"),
         write=("portal", "operator", "integration"), deletable=False),
    _res("account-entries", m.AccountEntry, None, v.AccountEntryOut,
         filters=("customer_id", "kind", "source", "vend_transaction_id"),
         tag="vending", read=("portal", "operator"), write=(), deletable=False),
    _res("vend-authorisations", m.VendAuthorisation, None, v.VendAuthorisationOut,
         filters=("machine_id", "customer_id", "decision", "reason"),
         tag="vending", read=ADMIN_ONLY, write=(), deletable=False),
    _res("vend-transactions", m.VendTransaction, None, v.VendTransactionOut,
         filters=("machine_id", "customer_id", "product_id", "status"),
         tag="vending", read=("portal", "operator"), write=(), deletable=False),
    # CRM
    _res("operators", m.Operator, c.OperatorIn, c.OperatorOut, filters=("external_id", "team", "active")),
    _res("branches", m.Branch, c.BranchIn, c.BranchOut, filters=("external_id", "city")),
    _res("doctors", m.Doctor, c.DoctorIn, c.DoctorOut, filters=("external_id", "branch_id")),
    _res("contacts", m.Contact, c.ContactIn, c.ContactOut, filters=("external_id", "phone", "email")),
    _res("campaigns", m.Campaign, c.CampaignIn, c.CampaignOut, filters=("external_id", "channel", "utm_campaign"),
         before_write=default_to_business_currency),
    _res("ad-spend", m.AdSpend, c.AdSpendIn, c.AdSpendOut, filters=("campaign_id", "day"),
         before_write=default_to_business_currency),
    _res("leads", m.Lead, c.LeadIn, c.LeadOut,
         filters=("external_id", "contact_id", "campaign_id", "status", "channel", "assigned_operator_id")),
    _res("pipelines", m.Pipeline, c.PipelineIn, c.PipelineOut, filters=("code",)),
    _res("pipeline-stages", m.PipelineStage, c.PipelineStageIn, c.PipelineStageOut,
         filters=("pipeline_id", "funnel_step"), before_write=pipeline_stage_before_write),
    _res("deals", m.Deal, c.DealIn, c.DealOut, filters=("external_id", "pipeline_id", "stage_id", "status",
         "contact_id"), patch_exclude=("stage_id", "pipeline_id"),
         before_write=deal_before_write, after_write=deal_after_write),
    _res("deal-stage-history", m.DealStageHistory, None, c.DealStageHistoryOut, filters=("deal_id",),
         write=(), deletable=False),
    _res("appointments", m.Appointment, c.AppointmentIn, c.AppointmentOut,
         filters=("external_id", "contact_id", "branch_id", "doctor_id", "status", "visit_type"),
         before_write=default_to_business_currency),
    _res("calls", m.Call, c.CallIn, c.CallOut,
         filters=("external_id", "operator_id", "contact_id", "lead_id", "deal_id", "direction", "outcome")),
    _res("messages", m.Message, c.MessageIn, c.MessageOut,
         filters=("external_id", "contact_id", "appointment_id", "channel", "status", "purpose"),
         before_write=message_before_write),
    _res("counterparties", m.Counterparty, c.CounterpartyIn, c.CounterpartyOut, filters=("external_id", "kind"),
         before_write=default_to_business_currency),
    _res("invoices", m.Invoice, c.InvoiceIn, c.InvoiceOut,
         filters=("external_id", "counterparty_id", "status", "direction"), before_write=invoice_before_write),
    _res("invoice-refusals", m.InvoiceRefusal, c.InvoiceRefusalIn, c.InvoiceRefusalOut,
         filters=("external_id", "invoice_id", "reason"), before_write=invoice_refusal_before_write),
    _res("payments", m.Payment, c.PaymentIn, c.PaymentOut, filters=("external_id", "counterparty_id", "invoice_id")),
    _res("fx-rates", m.FxRate, c.FxRateIn, c.FxRateOut, filters=("day", "base_currency", "quote_currency")),
]  # fmt: skip

BY_NAME = {res.name: res for res in RESOURCES}
