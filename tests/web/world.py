"""The world around the pages in browser tests: the operator's CLI on the server's data directory, agencies and their
clients, officers signed in through the API, and a staff browser session (the cookies the staff sign-in sets)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import BrowserContext

from tests.factories import make_phone
from tests.web.server import WebServer


def congdanso(web: WebServer, *args: str) -> dict[str, Any]:
    """The operator's CLI on the server's data directory; its JSON answer."""
    cli = Path(sys.executable).with_name("congdanso")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "WALLET_ENV": "dev", "WALLET_LOG_LEVEL": "warning"}
    env["WALLET_DATA_DIR"] = str(web.data_dir)
    done = subprocess.run(
        [str(cli), *args, "--json"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"congdanso {' '.join(args)}: {done.stderr}"
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def ok(answer: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    return dict(answer.json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class AgencyClient:
    code: str
    name: str
    client_id: str
    client_secret: str

    def token(self, web: WebServer) -> str:
        form = {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret}
        with web.api() as api:
            return str(ok(api.post("/oauth/token", data=form))["access_token"])


def new_agency(web: WebServer, *scopes: str, name: str | None = None, code: str | None = None) -> AgencyClient:
    code = code or f"ag_{uuid.uuid4().hex[:10]}"
    name = name or f"UBND phường {code[-4:]}"
    args = ["agency", "create", "--code", code, "--name", name]
    if scopes:
        args += ["--scopes", *scopes]
    creds = congdanso(web, *args)
    return AgencyClient(code, name, creds["client_id"], creds["client_secret"])


@dataclass
class Staff:
    """An officer of an agency, signed in through the API (their tokens give the browser its staff session)."""

    agency: AgencyClient
    name: str
    phone: str
    pin: str
    tokens: dict[str, Any]

    @property
    def token(self) -> str:
        return str(self.tokens["access_token"])


def new_staff(web: WebServer, agency: AgencyClient, *, name: str = "Trần Thị Bích") -> Staff:
    phone, pin = make_phone(), "135790"
    congdanso(web, "officer", "create", "--phone", phone, "--name", name, "--agency", agency.code, "--pin", pin)
    with web.api() as api:
        challenge = ok(api.post("/auth/login", json={"phone": phone, "pin": pin}), 202)
        verify = {"challenge_id": challenge["challenge_id"], "code": web.code_for(phone)}
        tokens = ok(api.post("/auth/otp/verify", json=verify))
    return Staff(agency, name, phone, pin, tokens)


def staff_signed_in(context: BrowserContext, web: WebServer, staff: Staff) -> None:
    """The browser holds the officer's session as the staff sign-in sets it (cookies sent to /officer only)."""
    context.add_cookies(
        [
            {"name": name, "value": staff.tokens[key], "domain": "127.0.0.1", "path": "/officer", "httpOnly": True}
            for name, key in (("cds_staff_at", "access_token"), ("cds_staff_rt", "refresh_token"))
        ]
    )
