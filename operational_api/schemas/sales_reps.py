"""Request and response bodies of sales reps and their territories (the hospitals each looks after)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator

from operational_api.models.people import SALES_REP_STATUSES
from operational_api.schemas.common import Email, Id, In, Locale, Name, Stored

SalesRepStatus = Literal[SALES_REP_STATUSES]  # type: ignore[valid-type]
# Stored lower-cased: the address is unique, and Ann@X and ann@x are one mailbox (the unique check would miss it).
RepEmail = Annotated[Email, AfterValidator(str.lower)]


class SalesRepIn(In):
    name: Name
    email: RepEmail
    locale: Locale
    status: SalesRepStatus = "active"


class SalesRepOut(SalesRepIn, Stored):
    pass


class SalesRepTerritoryIn(In):
    sales_rep_id: Id
    hospital_id: Id


class SalesRepTerritoryOut(SalesRepTerritoryIn, Stored):
    pass
