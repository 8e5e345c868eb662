"""National e-ID login against a real OpenID Provider process (Node oidc-provider, started by the test setup):
code flow with PKCE, state and nonce; forged tokens, a wrong nonce, a replayed state, a level-1 e-ID and a
personal ID other than the account's are all refused (API.md: "Identity assurance"). SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest

from api.deps import container_of
from tests.factories import e164, last_code, make_cccd, make_phone
from tests.integration.assurance_helpers import me
from tests.integration.conftest import Wallet
from tests.integration.test_assurance_counter import _issuer, _problem, push
from tests.integration.wallet_helpers import cccd_fields, png_bytes, upload
from tests.oidc_provider import OidcProvider

pytestmark = pytest.mark.oidc
START_PATH = "/api/v1/auth/eid/start"


@pytest.fixture
def eid_wallet(make_wallet: Callable[..., Wallet], oidc_provider: OidcProvider) -> Wallet:
    return make_wallet(
        eid_issuer=oidc_provider.issuer,
        eid_client_id=oidc_provider.client_id,
        eid_client_secret=oidc_provider.client_secret,
    )


def person(**overrides: str) -> dict[str, str]:
    born = date(1990, 5, 17)
    claims = {
        "personal_id": make_cccd(born),
        "identity_level": "2",
        "name": "Nguyễn Thị Mai",
        "birthdate": born.isoformat(),
        "phone_number": e164(make_phone()),
    }
    return claims | overrides


def started(wallet: Wallet, params: dict[str, str] | None = None, token: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = wallet.client.get(START_PATH, params=params or {}, headers=headers, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert "eid_binding" in answer.headers.get("set-cookie", "") and "HttpOnly" in answer.headers["set-cookie"]
    return str(answer.headers["location"])


def back(wallet: Wallet, callback_url: str) -> Any:
    parts = urlsplit(callback_url)
    return wallet.client.get(f"{parts.path}?{parts.query}", follow_redirects=False)


def eid_login(wallet: Wallet, op: OidcProvider, claims: dict[str, str], **kw: Any) -> Any:
    return back(wallet, op.login(started(wallet, **kw), claims))


class TestLogin:
    def test_authorization_uses_code_flow_with_pkce_state_and_nonce(self, eid_wallet: Wallet) -> None:
        query = parse_qs(urlsplit(started(eid_wallet)).query)
        assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
        for name in ("state", "nonce", "code_challenge", "client_id", "redirect_uri"):
            assert len(query[name][0]) >= 10, name
        assert "vneid" in query["scope"][0].split()

    def test_a_first_login_opens_an_account_at_level_2(self, eid_wallet: Wallet, oidc_provider: OidcProvider) -> None:
        claims = person()
        answer = eid_login(eid_wallet, oidc_provider, claims)
        assert answer.status_code == 200, answer.text
        profile = me(eid_wallet, answer.json()["access_token"])
        assert profile["national_id"] == claims["personal_id"] and profile["full_name"] == "Nguyễn Thị Mai"
        assert (profile["assurance"], profile["phone"], profile["date_of_birth"]) == (
            2,
            claims["phone_number"],
            "1990-05-17",
        )
        assert profile["proofing"]["method"] == "eid" and profile["proofing"]["by"]["name"] == "VNeID"

    def test_the_same_person_signs_in_to_the_same_account(
        self, eid_wallet: Wallet, oidc_provider: OidcProvider
    ) -> None:
        claims = person()
        first = eid_login(eid_wallet, oidc_provider, claims).json()
        again = eid_login(eid_wallet, oidc_provider, claims)
        assert again.status_code == 200 and again.json()["citizen_id"] == first["citizen_id"]

    def test_a_level_1_account_with_the_same_phone_reaches_level_2_keeping_its_papers(
        self, eid_wallet: Wallet, oidc_provider: OidcProvider
    ) -> None:
        data, tokens = eid_wallet.register()
        upload(eid_wallet, tokens["access_token"], "cccd", cccd_fields(data), [("cccd.png", png_bytes("mine"))])
        held = push(eid_wallet, _issuer(eid_wallet), data["national_id"])
        claims = person(personal_id=data["national_id"], phone_number=e164(data["phone"]))
        answer = eid_login(eid_wallet, oidc_provider, claims)
        assert answer.status_code == 200, answer.text
        token = answer.json()["access_token"]
        assert answer.json()["citizen_id"] == me(eid_wallet, tokens["access_token"])["id"]
        assert len(eid_wallet.get("/documents", token).json()["items"]) == 2
        assert eid_wallet.get(f"/documents/{held['id']}", token).status_code == 200

    def test_a_level_1_account_of_someone_else_is_closed(self, eid_wallet: Wallet, oidc_provider: OidcProvider) -> None:
        impostor, stolen = eid_wallet.register()
        mine = upload(eid_wallet, stolen["access_token"], "cccd", cccd_fields(impostor), [("x.png", png_bytes("x"))])
        held = push(eid_wallet, _issuer(eid_wallet), impostor["national_id"])
        answer = eid_login(eid_wallet, oidc_provider, person(personal_id=impostor["national_id"]))
        assert answer.status_code == 200, answer.text
        owner = answer.json()["access_token"]
        assert eid_wallet.get("/me", stolen["access_token"]).status_code == 401
        assert [d["id"] for d in eid_wallet.get("/documents", owner).json()["items"]] == [held["id"]]
        assert eid_wallet.get(f"/documents/{mine.json()['id']}", owner).status_code == 404
        assert me(eid_wallet, owner)["full_name"] == "Nguyễn Thị Mai"
        assert container_of(eid_wallet.app.state).citizen_keys.replacements() == []


class TestRefused:
    @pytest.mark.parametrize("mode", ["alter_payload", "foreign_key", "alg_none"])
    def test_a_forged_id_token(self, eid_wallet: Wallet, oidc_provider: OidcProvider, mode: str) -> None:
        claims = person()
        url = started(eid_wallet)
        with oidc_provider.tampering(mode):  # type: ignore[arg-type]
            answer = back(eid_wallet, oidc_provider.login(url, claims))
        _problem(answer, 401, "eid_failed")
        assert (
            eid_wallet.post("/auth/login", {"national_id": claims["personal_id"], "pin": "123456"}).status_code == 401
        )

    def test_a_wrong_nonce(self, eid_wallet: Wallet, oidc_provider: OidcProvider) -> None:
        parts = urlsplit(started(eid_wallet))
        query = {k: v[0] for k, v in parse_qs(parts.query).items()} | {"nonce": "not-the-nonce-we-sent-at-all"}
        tampered = urlunsplit(parts._replace(query=urlencode(query)))
        _problem(back(eid_wallet, oidc_provider.login(tampered, person())), 401, "eid_failed")

    def test_a_replayed_state(self, eid_wallet: Wallet, oidc_provider: OidcProvider) -> None:
        callback = oidc_provider.login(started(eid_wallet), person())
        assert back(eid_wallet, callback).status_code == 200
        _problem(back(eid_wallet, callback), 400, "eid_state_invalid")

    def test_a_callback_in_another_browser(self, eid_wallet: Wallet, oidc_provider: OidcProvider) -> None:
        callback = oidc_provider.login(started(eid_wallet), person())
        eid_wallet.client.cookies.clear()  # the victim's browser, tricked into finishing the attacker's login
        _problem(back(eid_wallet, callback), 400, "eid_state_invalid")

    def test_a_login_left_for_10_minutes(self, eid_wallet: Wallet, oidc_provider: OidcProvider) -> None:
        url = started(eid_wallet)
        eid_wallet.clock.advance(timedelta(minutes=10))
        _problem(back(eid_wallet, oidc_provider.login(url, person())), 400, "eid_state_invalid")

    def test_a_login_finished_just_before_10_minutes(self, eid_wallet: Wallet, oidc_provider: OidcProvider) -> None:
        url = started(eid_wallet)
        eid_wallet.clock.advance(timedelta(minutes=10) - timedelta(microseconds=1))
        assert back(eid_wallet, oidc_provider.login(url, person())).status_code == 200

    def test_a_level_1_eid(self, eid_wallet: Wallet, oidc_provider: OidcProvider) -> None:
        claims = person(identity_level="1")
        _problem(eid_login(eid_wallet, oidc_provider, claims), 403, "eid_level_insufficient")
        assert (
            eid_wallet.post("/auth/login", {"national_id": claims["personal_id"], "pin": "123456"}).status_code == 401
        )

    def test_the_provider_refusing(self, eid_wallet: Wallet, oidc_provider: OidcProvider) -> None:
        callback = oidc_provider.login(started(eid_wallet), {}, login_name="not base64 json")
        _problem(back(eid_wallet, callback), 401, "eid_failed")

    def test_off_when_not_configured(self, wallet: Wallet) -> None:
        _problem(wallet.client.get(START_PATH, follow_redirects=False), 404, "eid_not_configured")


class TestLink:
    def test_a_signed_in_citizen_proofs_their_own_account(
        self, eid_wallet: Wallet, oidc_provider: OidcProvider
    ) -> None:
        data, tokens = eid_wallet.register()
        claims = person(personal_id=data["national_id"])
        answer = back(eid_wallet, oidc_provider.login(started(eid_wallet, token=tokens["access_token"]), claims))
        assert answer.status_code == 200, answer.text
        assert me(eid_wallet, tokens["access_token"])["assurance"] == 2

    def test_another_persons_eid_is_refused(self, eid_wallet: Wallet, oidc_provider: OidcProvider) -> None:
        _, tokens = eid_wallet.register()
        url = started(eid_wallet, token=tokens["access_token"])
        _problem(back(eid_wallet, oidc_provider.login(url, person())), 403, "eid_identity_mismatch")
        assert me(eid_wallet, tokens["access_token"])["assurance"] == 1


class TestReturnTo:
    def test_a_ticket_is_exchanged_once(self, eid_wallet: Wallet, oidc_provider: OidcProvider) -> None:
        answer = eid_login(eid_wallet, oidc_provider, person(), params={"return_to": "/dang-nhap/xong?x=1"})
        assert answer.status_code == 303
        location = urlsplit(answer.headers["location"])
        assert location.path == "/dang-nhap/xong" and "x=1" in location.query
        ticket = parse_qs(location.query)["eid_ticket"][0]
        exchanged = eid_wallet.post("/auth/eid/exchange", {"ticket": ticket})
        assert exchanged.status_code == 200 and me(eid_wallet, exchanged.json()["access_token"])["assurance"] == 2
        _problem(eid_wallet.post("/auth/eid/exchange", {"ticket": ticket}), 400, "eid_ticket_invalid")

    def test_a_ticket_expires_after_2_minutes(self, eid_wallet: Wallet, oidc_provider: OidcProvider) -> None:
        answer = eid_login(eid_wallet, oidc_provider, person(), params={"return_to": "/xong"})
        ticket = parse_qs(urlsplit(answer.headers["location"]).query)["eid_ticket"][0]
        eid_wallet.clock.advance(timedelta(minutes=2))
        _problem(eid_wallet.post("/auth/eid/exchange", {"ticket": ticket}), 400, "eid_ticket_invalid")

    def test_a_ticket_works_until_just_before_2_minutes(self, eid_wallet: Wallet, oidc_provider: OidcProvider) -> None:
        answer = eid_login(eid_wallet, oidc_provider, person(), params={"return_to": "/xong"})
        ticket = parse_qs(urlsplit(answer.headers["location"]).query)["eid_ticket"][0]
        eid_wallet.clock.advance(timedelta(minutes=2) - timedelta(microseconds=1))
        assert eid_wallet.post("/auth/eid/exchange", {"ticket": ticket}).status_code == 200

    @pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
    def test_only_paths_of_this_service(self, eid_wallet: Wallet, target: str) -> None:
        answer = eid_wallet.client.get(START_PATH, params={"return_to": target}, follow_redirects=False)
        _problem(answer, 422, "validation_failed")


class TestRecoveryByEid:
    def test_a_lost_phone_is_recovered_by_eid(self, eid_wallet: Wallet, oidc_provider: OidcProvider) -> None:
        data, tokens = eid_wallet.register(proofed=True)
        new_phone = make_phone()
        params = {"intent": "recover", "new_phone": new_phone}
        answer = eid_login(eid_wallet, oidc_provider, person(personal_id=data["national_id"]), params=params)
        assert answer.status_code == 202, answer.text
        code = last_code(eid_wallet.outbox, to=e164(new_phone))
        body = {"challenge_id": answer.json()["challenge_id"], "code": code, "pin": "975310"}
        done = eid_wallet.post("/auth/recover/complete", body)
        assert done.status_code == 200, done.text
        assert eid_wallet.get("/me", tokens["access_token"]).status_code == 401
        profile = me(eid_wallet, done.json()["access_token"])
        assert profile["phone"] == e164(new_phone) and profile["proofing"]["method"] == "eid"
