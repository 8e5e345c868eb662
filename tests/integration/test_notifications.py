"""The caller's in-app notices (API.md: `GET /me/notifications`): newest first and paginated, the unread filter and
count, marking one or all read, isolation between citizens, roles, sealed storage and the dev outbox mirror.
Every test runs on SQLite and PostgreSQL with a frozen clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from api.deps import container_of
from notify.service import Notifier
from storage.db import read_only, transaction
from tests.factories import outbox_lines
from tests.integration.conftest import START, Wallet
from tests.integration.consent_helpers import make_agency, officer_token

SUBJECT = "Hồ sơ cấp hộ chiếu đã được tiếp nhận"
BODY = "Hồ sơ số 000.00.20.H17-261124-0001 đã được Công an TP Đà Nẵng tiếp nhận."


@pytest.fixture
def wallet(make_wallet: Callable[..., Wallet]) -> Wallet:
    """A wallet whose background dispatcher stays asleep, so a test decides when the outbox is delivered."""
    return make_wallet(outbox_interval_seconds=3600)


# -- helpers ------------------------------------------------------------------------------------
class Person:
    """A logged-in citizen (or officer) and their inbox over HTTP."""

    def __init__(self, wallet: Wallet, token: str, subject_id: str) -> None:
        self.wallet, self.token, self.id = wallet, token, subject_id

    def inbox(self, **params: Any) -> Any:
        return self.wallet.get("/me/notifications", self.token, params=params)

    def page(self, **params: Any) -> dict[str, Any]:
        answer = self.inbox(**params)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def read(self, notice_id: str) -> Any:
        return self.wallet.post(f"/me/notifications/{notice_id}/read", None, self.token)

    def read_all(self) -> Any:
        return self.wallet.post("/me/notifications/read-all", None, self.token)


def _citizen(wallet: Wallet) -> Person:
    _data, tokens = wallet.register()
    return Person(wallet, str(tokens["access_token"]), str(tokens["citizen_id"]))


def _notify(wallet: Wallet, recipient_id: str, count: int = 1, *, subject: str = SUBJECT) -> list[str]:
    """Queue `count` notices (SMS, email and in-app) through the real notifier, one second apart; returns the
    outbox ids. Subjects are numbered from 1, oldest first."""
    container = container_of(wallet.app.state)
    ids: list[str] = []
    for n in range(1, count + 1):
        wallet.clock.advance(timedelta(seconds=1))
        with transaction(container.engine) as session:
            notifier = Notifier(session, key=container.outbox_key, clock=container.clock)
            ids += notifier.notify_all(
                recipient_id=recipient_id, phone="+84905000111", email=None, subject=f"{subject} #{n}", body=BODY
            )
    return ids


def _dispatch(wallet: Wallet, ids: list[str]) -> int:
    container = container_of(wallet.app.state)
    sent: int = wallet.client.blocking_portal.call(container.dispatcher.dispatch, ids)
    return sent


def _subjects(page: dict[str, Any]) -> list[str]:
    return [str(item["subject"]) for item in page["items"]]


def _problem(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert (body["status"], body["code"]) == (status, code), body
    return body


def _rfc3339(seconds: int) -> str:
    return (START + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _same_time(a: str, b: str) -> bool:
    return a.replace("Z", "+00:00") == b.replace("Z", "+00:00")


# -- tests --------------------------------------------------------------------------------------
class TestListNotifications:
    def test_empty_inbox(self, wallet: Wallet) -> None:
        an = _citizen(wallet)

        assert an.page() == {"items": [], "next_cursor": None, "unread_count": 0}

    def test_shape_newest_first(self, wallet: Wallet) -> None:
        an = _citizen(wallet)
        _notify(wallet, an.id, 3)

        page = an.page()

        assert _subjects(page) == [f"{SUBJECT} #3", f"{SUBJECT} #2", f"{SUBJECT} #1"]
        assert (page["next_cursor"], page["unread_count"]) == (None, 3)
        newest = page["items"][0]
        assert set(newest) == {"id", "subject", "body", "created_at", "read", "read_at"}
        assert (newest["body"], newest["read"], newest["read_at"]) == (BODY, False, None)
        assert _same_time(newest["created_at"], _rfc3339(3))

    def test_pages_with_cursor(self, wallet: Wallet) -> None:
        an = _citizen(wallet)
        _notify(wallet, an.id, 5)

        first = an.page(limit=2)
        second = an.page(limit=2, cursor=first["next_cursor"])
        last = an.page(limit=2, cursor=second["next_cursor"])

        assert [_subjects(p) for p in (first, second, last)] == [
            [f"{SUBJECT} #5", f"{SUBJECT} #4"],
            [f"{SUBJECT} #3", f"{SUBJECT} #2"],
            [f"{SUBJECT} #1"],
        ]
        assert first["next_cursor"] and second["next_cursor"]
        assert last["next_cursor"] is None
        assert {p["unread_count"] for p in (first, second, last)} == {5}

    def test_bad_cursor_is_a_400_problem(self, wallet: Wallet) -> None:
        an = _citizen(wallet)

        for cursor in (
            "not-a-cursor",
            "bm9wZQ",
            "MjAyNi0xMS0yNFQwODowMDowMHw",
        ):  # garbage, "nope", a naive time and no id
            _problem(an.inbox(cursor=cursor), 400, "invalid_cursor")

    @pytest.mark.parametrize("limit", [0, 201, "x"])
    def test_bad_limit_is_refused(self, wallet: Wallet, limit: object) -> None:
        an = _citizen(wallet)

        answer = an.inbox(limit=limit)

        assert answer.status_code in {400, 422}, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")

    def test_sms_notices_of_login_are_not_in_the_inbox(self, wallet: Wallet) -> None:
        an = _citizen(wallet)  # registration sent an SMS OTP: sms only

        assert an.page()["items"] == []


class TestUnreadFilter:
    def test_lists_only_unread_and_counts_them_all(self, wallet: Wallet) -> None:
        an = _citizen(wallet)
        _notify(wallet, an.id, 4)
        by_subject = {item["subject"]: item["id"] for item in an.page()["items"]}
        assert an.read(by_subject[f"{SUBJECT} #3"]).status_code == 200

        everything = an.page()
        unread = an.page(unread="true")
        first = an.page(unread="true", limit=1)
        rest = an.page(unread="true", limit=5, cursor=first["next_cursor"])

        assert len(everything["items"]) == 4
        assert _subjects(unread) == [f"{SUBJECT} #4", f"{SUBJECT} #2", f"{SUBJECT} #1"]
        assert not any(item["read"] for item in unread["items"])
        assert _subjects(first) + _subjects(rest) == _subjects(unread)
        assert rest["next_cursor"] is None
        assert {p["unread_count"] for p in (everything, unread, first, rest)} == {3}

    def test_unread_false_lists_everything(self, wallet: Wallet) -> None:
        an = _citizen(wallet)
        _notify(wallet, an.id, 2)
        an.read_all()

        assert len(an.page(unread="false")["items"]) == 2
        assert an.page(unread="true") == {"items": [], "next_cursor": None, "unread_count": 0}


class TestMarkRead:
    def test_marks_with_the_clock_and_is_idempotent(self, wallet: Wallet) -> None:
        an = _citizen(wallet)
        _notify(wallet, an.id, 2)
        newest = an.page()["items"][0]
        wallet.clock.advance(timedelta(minutes=5))
        read_at = wallet.clock.now()

        answer = an.read(newest["id"])
        wallet.clock.advance(timedelta(minutes=3))  # the access token lives 15 minutes
        again = an.read(newest["id"])

        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["id"], body["subject"], body["body"], body["read"]) == (newest["id"], f"{SUBJECT} #2", BODY, True)
        assert _same_time(body["read_at"], read_at.isoformat())
        assert again.status_code == 200, again.text
        assert again.json() == body  # the first reading time stays
        listed = an.page()
        assert listed["items"][0] == body
        assert (listed["items"][1]["read"], listed["unread_count"]) == (False, 1)

    def test_unknown_notice_is_404(self, wallet: Wallet) -> None:
        an = _citizen(wallet)

        _problem(an.read("01900000-0000-7000-8000-000000000000"), 404, "notice_not_found")


class TestReadAll:
    def test_marks_every_unread_notice(self, wallet: Wallet) -> None:
        an = _citizen(wallet)
        _notify(wallet, an.id, 3)
        oldest = an.page()["items"][-1]
        an.read(oldest["id"])
        wallet.clock.advance(timedelta(minutes=1))

        answer = an.read_all()

        assert answer.status_code == 200, answer.text
        assert answer.json() == {"marked": 2}
        page = an.page()
        assert page["unread_count"] == 0
        assert all(item["read"] for item in page["items"])
        assert [_same_time(item["read_at"], wallet.clock.now().isoformat()) for item in page["items"]] == [
            True,
            True,
            False,  # read earlier, keeps its time
        ]
        assert an.read_all().json() == {"marked": 0}


class TestIsolation:
    def test_another_citizen_sees_and_marks_none(self, wallet: Wallet) -> None:
        an, binh = _citizen(wallet), _citizen(wallet)
        _notify(wallet, an.id, 2)
        notice_id = an.page()["items"][0]["id"]

        assert binh.page() == {"items": [], "next_cursor": None, "unread_count": 0}
        assert binh.page(unread="true")["unread_count"] == 0
        _problem(binh.read(notice_id), 404, "notice_not_found")
        assert binh.read_all().json() == {"marked": 0}
        assert an.page()["unread_count"] == 2

    def test_a_cursor_of_another_inbox_shows_nothing_of_it(self, wallet: Wallet) -> None:
        an, binh = _citizen(wallet), _citizen(wallet)
        _notify(wallet, an.id, 3)
        cursor = an.page(limit=1)["next_cursor"]

        assert binh.page(cursor=cursor)["items"] == []


class TestRoles:
    def test_no_token_is_401(self, wallet: Wallet) -> None:
        _problem(wallet.get("/me/notifications"), 401, "invalid_token")
        _problem(wallet.post("/me/notifications/read-all"), 401, "invalid_token")

    def test_agency_token_is_403(self, wallet: Wallet) -> None:
        token = make_agency(wallet).token()

        _problem(wallet.get("/me/notifications", token), 403, "forbidden")
        _problem(wallet.post("/me/notifications/read-all", None, token), 403, "forbidden")

    def test_officer_has_an_inbox(self, wallet: Wallet) -> None:
        token = officer_token(wallet, make_agency(wallet))
        officer_id = str(wallet.get("/me", token).json()["id"])
        officer = Person(wallet, token, officer_id)
        _notify(wallet, officer_id, 1)

        page = officer.page()

        assert (_subjects(page), page["unread_count"]) == ([f"{SUBJECT} #1"], 1)
        assert officer.read(page["items"][0]["id"]).json()["read"] is True


class TestStorage:
    def test_content_is_sealed_at_rest(self, wallet: Wallet) -> None:
        an = _citizen(wallet)
        _notify(wallet, an.id, 1)
        engine = container_of(wallet.app.state).engine

        with transaction(read_only(engine)) as session:
            notices = session.execute(text("SELECT * FROM in_app_notice")).all()
            outbox = session.execute(text("SELECT * FROM notification_outbox")).all()

        assert len(notices) == 1
        for row in [*notices, *outbox]:
            raw = b"".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row)
            for secret in (SUBJECT, BODY, "+84905000111"):
                assert secret.encode() not in raw
        assert an.page()["items"][0]["subject"] == f"{SUBJECT} #1"

    def test_in_app_notices_are_mirrored_in_the_dev_outbox(self, wallet: Wallet) -> None:
        an = _citizen(wallet)
        ids = _notify(wallet, an.id, 2)
        before = len(outbox_lines(wallet.outbox))

        assert _dispatch(wallet, ids) == len(ids)

        in_app = [line for line in outbox_lines(wallet.outbox)[before:] if line["channel"] == "in_app"]
        assert sorted((line["to"], line["subject"], line["body"]) for line in in_app) == [
            (an.id, f"{SUBJECT} #1", BODY),
            (an.id, f"{SUBJECT} #2", BODY),
        ]
        assert all({"channel", "to", "subject", "body", "sent_at"} <= set(line) for line in in_app)
        assert sorted(item["subject"] for item in an.page()["items"]) == sorted(line["subject"] for line in in_app)
