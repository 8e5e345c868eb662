"""Starting a recovery at the counter (API.md "Identity assurance": `POST /identity/recoveries`): after checking the
card, the officer types its ID number and the phone the holder has now; a code goes to that phone, and the holder
finishes with it and a new PIN. Reached from the scan page (a holder who lost the phone has no QR to show) and from
a scan's result (a forgotten PIN)."""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import State
from litestar.response import Template
from pydantic import ValidationError

from api.unit import UnitOfWork
from assurance.errors import AssuranceInvalid
from assurance.recovery import RecoveryService
from assurance.schemas import RecoveryCreate
from identity.sessions import Principal
from web.i18n import gettext as _
from web.messages import N_, parse_date
from web.officer.pages import staff_page
from web.pages import form_value, see_other

SECTION = "/officer/scan"
FIELDS = ("national_id", "new_phone", "full_name", "date_of_birth")
MESSAGES = {
    "national_id": N_("Enter the 12 digits of the ID card number as the card shows it"),
    "new_phone": N_("Enter a Vietnamese mobile number, like 0905123456"),
    "full_name": N_("No account holds this ID number: enter the full name as the card shows it"),
    "date_of_birth": N_("No account holds this ID number: enter the date of birth as the card shows it"),
}
STARTED = {
    "existing": N_("A code went to the new phone. The holder enters it with a new PIN in the app to finish."),
    "new": N_(
        "No account held this ID number: one opens at level 2 when the holder enters the code sent to the new phone "
        "with a new PIN."
    ),
}


class RecoveryPages(Controller):
    path = "/recoveries"

    @get("/new")
    async def recovery_form(self, officer: Principal, unit: UnitOfWork) -> Template:
        return _form(unit, officer, {}, {})

    @post("", media_type=MediaType.HTML)
    async def start(self, request: Request[Any, Any, State], officer: Principal, unit: UnitOfWork) -> Any:
        form = await request.form()
        values = {name: form_value(form, name) for name in FIELDS}
        errors: dict[str, str] = {}
        if not values["national_id"]:
            errors["national_id"] = _(MESSAGES["national_id"])
        if not values["new_phone"]:
            errors["new_phone"] = _(MESSAGES["new_phone"])
        born = parse_date(values["date_of_birth"]) if values["date_of_birth"] else None
        if values["date_of_birth"] and born is None:
            errors["date_of_birth"] = _("Enter a real date, for example 02/03/1995")
        if errors:
            return _form(unit, officer, values, errors)
        try:
            data = RecoveryCreate(
                national_id=values["national_id"],
                new_phone=values["new_phone"],
                full_name=values["full_name"] or None,
                date_of_birth=born,
            )
        except ValidationError as invalid:
            named = {str(error["loc"][0]) for error in invalid.errors() if error["loc"]}
            said = {name: _(MESSAGES[name]) for name in FIELDS if name in named}
            return _form(unit, officer, values, said or {"national_id": _(MESSAGES["national_id"])})
        service = RecoveryService(unit.session, unit.container.assurance, unit.notifier)
        try:
            started = await anyio.to_thread.run_sync(service.start_at_counter, officer, data)
        except AssuranceInvalid as refused:
            said = {name: _(MESSAGES[name]) for name in FIELDS if name in refused.errors}
            return _form(unit, officer, values, said or {"national_id": _(MESSAGES["national_id"])})
        return see_other(f"/officer/recoveries/started?account={started.account}")

    @get("/started")
    async def started(self, officer: Principal, unit: UnitOfWork, account: str = "existing") -> Template:
        message = _(STARTED.get(account, STARTED["existing"]))
        return staff_page(unit, officer, "officer/scan/recovery_started.html", section=SECTION, message=message)


def _form(unit: UnitOfWork, officer: Principal, values: dict[str, str], errors: dict[str, str]) -> Template:
    status = 422 if errors else 200
    context = {"values": values, "errors": errors}
    return staff_page(unit, officer, "officer/scan/recovery.html", section=SECTION, status=status, **context)
