"""Helpers of the e-form tests: agencies of the catalog's procedures, a citizen with a full wallet, dossiers."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from api.deps import container_of
from identity.accounts import AccountService
from storage.db import transaction
from tests.integration.conftest import E2E_BASE_URL, Wallet
from tests.integration.wallet_helpers import auth, full_wallet, upload

_names = itertools.count(1)


# What the agency a procedure names holds to work its dossiers: read and move them, issue results, see its figures.
PROCESSING = ("applications:process", "documents:issue", "stats:read")


# End-to-end mode: one database for the whole run, where a procedure's agency (a fixed code) is made once.
_E2E_AGENCIES: dict[tuple[str, tuple[str, ...]], Any] = {}


def agency_token(wallet: Wallet, code: str, *, scopes: tuple[str, ...] = PROCESSING, name: str | None = None) -> str:
    """An access token of the agency `code`, created on first use (as `congdanso agency create --code` does)."""
    return agency_tokens(wallet, code, None, scopes=scopes, name=name)[0]


def agency_tokens(
    wallet: Wallet, code: str, *narrowed: str | None, scopes: tuple[str, ...] = PROCESSING, name: str | None = None
) -> list[str]:
    """The new agency `code`'s tokens, one per requested scope string (None: every scope it holds)."""
    creds = _E2E_AGENCIES.get((code, scopes)) if E2E_BASE_URL else None
    if creds is None:
        container = container_of(wallet.app.state)
        with transaction(container.engine) as session:
            accounts = AccountService(session, container.identity)
            creds = accounts.create_agency(code, name or f"Cơ quan {code} {next(_names)}", scopes)
        _E2E_AGENCIES[(code, scopes)] = creds
    tokens = []
    for scope in narrowed:
        form = {"grant_type": "client_credentials", "client_id": creds.client_id, "client_secret": creds.client_secret}
        answer = wallet.client.post("/api/v1/oauth/token", data=form | ({"scope": scope} if scope else {}))
        assert answer.status_code == 200, answer.text
        tokens.append(str(answer.json()["access_token"]))
    return tokens


@dataclass
class Citizen:
    """A registered citizen, their token and the ids of their papers by type."""

    data: dict[str, Any]
    token: str
    papers: dict[str, str] = field(default_factory=dict)


def citizen_with_papers(
    wallet: Wallet, *, papers: list[tuple[str, dict[str, Any]]] | None = None, proofed: bool = True, **overrides: Any
) -> Citizen:
    """Register a citizen (proofed to level 2 at a counter unless told otherwise: results and signed papers reach
    only level 2) and upload `papers` ((type, fields) pairs; default: `full_wallet`, every paper the catalog pulls
    from)."""
    data, tokens = wallet.register(proofed=proofed, **overrides)
    citizen = Citizen(data, tokens["access_token"])
    for type_code, fields in full_wallet(data) if papers is None else papers:
        answer = upload(wallet, citizen.token, type_code, fields)
        assert answer.status_code == 201, answer.text
        citizen.papers[type_code] = answer.json()["id"]
    return citizen


def procedure(wallet: Wallet, code: str) -> dict[str, Any]:
    answer = wallet.get(f"/procedures/{code}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def start(wallet: Wallet, citizen: Citizen, code: str, **body: Any) -> dict[str, Any]:
    answer = wallet.post("/applications", {"procedure_code": code, **body}, token=citizen.token)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def patch(wallet: Wallet, token: str, application_id: str, body: dict[str, Any]) -> Any:
    return wallet.client.patch(f"/api/v1/applications/{application_id}", json=body, headers=auth(token))


def asked_values(wallet: Wallet, application: dict[str, Any]) -> dict[str, Any]:
    """A valid value for every missing field, chosen from the field's type in the catalog."""
    form = procedure(wallet, application["procedure_code"])
    return values_for(form, application["missing_fields"], today=wallet.clock.now().date())


def values_for(form: dict[str, Any], missing: list[str], *, today: date) -> dict[str, Any]:
    """A valid value for each of `missing`, chosen from the field's type in the procedure's catalog entry."""
    spec = {f["name"]: f for f in form["fields"]}
    samples = {"string": "Giá trị bổ sung", "date": today.isoformat(), "int": 1}
    values: dict[str, Any] = {}
    for name in missing:
        kind, choices = spec[name]["type"], spec[name].get("choices") or []
        if kind == "enum":
            values[name] = choices[0]
        elif kind == "list":
            values[name] = choices[:1] or ["Giá trị"]
        else:
            values[name] = samples[kind]
    return values


def submitted(wallet: Wallet, citizen: Citizen, code: str) -> dict[str, Any]:
    """A dossier filled and submitted (the citizen's wallet must hold its required papers)."""
    application = start(wallet, citizen, code)
    if application["missing_fields"]:
        answer = patch(wallet, citizen.token, application["id"], {"fields": asked_values(wallet, application)})
        assert answer.status_code == 200, answer.text
    answer = wallet.post(f"/applications/{application['id']}/submit", token=citizen.token)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())
