from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from crypto.aead import Context, open_sealed
from crypto.clock import FrozenClock
from notify.errors import InvalidCursor, NoticeNotFound
from notify.models import InAppNotice, OutboxMessage
from notify.service import Notifier
from storage.db import transaction
from tests.unit.notify.conftest import START, enqueue

PHONE = "+84901234567"
OTP_BODY = "Mã OTP của bạn là 482913"


def count(engine: Engine, table: type[OutboxMessage] | type[InAppNotice]) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(table)).one()


class TestTransaction:
    def test_rolled_back_transaction_leaves_nothing(self, any_engine: Engine, key: bytes, clock: FrozenClock) -> None:
        class Abort(Exception):
            pass

        def failing_request() -> None:
            with transaction(any_engine) as session:
                notifier = Notifier(session, key=key, clock=clock)
                notifier.notify_all(recipient_id="citizen-1", phone=PHONE, email="an@x.vn", subject="s", body="b")
                raise Abort

        with pytest.raises(Abort):
            failing_request()

        assert count(any_engine, OutboxMessage) == 0
        assert count(any_engine, InAppNotice) == 0

    def test_committed_notice_is_a_pending_row_due_now(
        self, any_engine: Engine, key: bytes, clock: FrozenClock
    ) -> None:
        [message_id] = enqueue(any_engine, key, clock, recipient_id="citizen-1")

        with Session(any_engine) as session:
            row = session.get_one(OutboxMessage, message_id)
        assert (row.channel, row.recipient_id, row.status, row.attempts) == ("sms", "citizen-1", "pending", 0)
        assert row.next_attempt_at == START
        assert row.created_at == START
        assert row.lease_until is None
        assert row.sent_at is None

    def test_send_flushes_but_never_commits(self, engine: Engine, key: bytes, clock: FrozenClock) -> None:
        with Session(engine) as session:
            message_id = Notifier(session, key=key, clock=clock).send(channel="sms", to=PHONE, body="x")
            assert session.get(OutboxMessage, message_id) is not None
            session.rollback()
        assert count(engine, OutboxMessage) == 0


class TestPayloadSealed:
    def test_contact_details_and_codes_never_lie_in_clear(
        self, engine: Engine, db_path: Path, key: bytes, clock: FrozenClock
    ) -> None:
        with transaction(engine) as session:
            Notifier(session, key=key, clock=clock).notify_all(
                recipient_id="citizen-1", phone=PHONE, email="nguyen.an@example.vn", subject="Đăng nhập", body=OTP_BODY
            )

        files = [db_path, db_path.with_name(db_path.name + "-wal")]
        content = b"".join(path.read_bytes() for path in files if path.exists())
        for secret in (PHONE, "nguyen.an@example.vn", "482913", OTP_BODY, "Đăng nhập"):
            assert secret.encode() not in content

    def test_payload_is_bound_to_its_row(self, engine: Engine, key: bytes, clock: FrozenClock) -> None:
        first, second = enqueue(engine, key, clock, count=2)
        with Session(engine) as session:
            sealed = session.get_one(OutboxMessage, first).payload_sealed

        assert b"482913" not in sealed
        assert b'"to": "+84901234567"' in open_sealed(key, sealed, context=Context(purpose="outbox", document=first))
        with pytest.raises(Exception, match="cannot decrypt"):
            open_sealed(key, sealed, context=Context(purpose="outbox", document=second))


class TestSend:
    def test_rejects_a_short_key(self, engine: Engine, clock: FrozenClock) -> None:
        with Session(engine) as session, pytest.raises(ValueError, match="32 bytes"):
            Notifier(session, key=b"short", clock=clock)

    def test_in_app_creates_the_notice_for_its_recipient(self, engine: Engine, key: bytes, clock: FrozenClock) -> None:
        with transaction(engine) as session:
            message_id = Notifier(session, key=key, clock=clock).send(
                channel="in_app", to="citizen-1", subject="Hồ sơ", body="Đã tiếp nhận"
            )

        with Session(engine) as session:
            outbox = session.get_one(OutboxMessage, message_id)
            notices = session.exec(select(InAppNotice)).all()
        assert (outbox.channel, outbox.recipient_id) == ("in_app", "citizen-1")
        assert [n.recipient_id for n in notices] == ["citizen-1"]

    def test_in_app_to_someone_else_is_refused(self, engine: Engine, key: bytes, clock: FrozenClock) -> None:
        with Session(engine) as session, pytest.raises(ValueError, match="recipient_id"):
            Notifier(session, key=key, clock=clock).send(channel="in_app", to="a", body="x", recipient_id="b")

    def test_unknown_channel_is_refused(self, engine: Engine, key: bytes, clock: FrozenClock) -> None:
        with Session(engine) as session, pytest.raises(ValueError, match="channel"):
            Notifier(session, key=key, clock=clock).send(channel="fax", to="a", body="x")  # type: ignore[arg-type]

    def test_notify_all_skips_unknown_contacts(self, engine: Engine, key: bytes, clock: FrozenClock) -> None:
        with transaction(engine) as session:
            notifier = Notifier(session, key=key, clock=clock)
            everything = notifier.notify_all(recipient_id="c1", phone=PHONE, email="a@b.vn", subject="s", body="b")
            in_app_only = notifier.notify_all(recipient_id="c1", phone=None, email=None, subject="s", body="b")

        with Session(engine) as session:
            channels = {row.id: row.channel for row in session.exec(select(OutboxMessage))}
        assert [channels[i] for i in everything] == ["sms", "email", "in_app"]
        assert [channels[i] for i in in_app_only] == ["in_app"]


def post_notices(engine: Engine, key: bytes, clock: FrozenClock, recipient: str, bodies: list[str]) -> None:
    with transaction(engine) as session:
        notifier = Notifier(session, key=key, clock=clock)
        for body in bodies:
            notifier.send(channel="in_app", to=recipient, subject="Thông báo", body=body)
            clock.advance(timedelta(seconds=1))


class TestInAppInbox:
    def test_lists_newest_first_page_by_page(self, engine: Engine, key: bytes, clock: FrozenClock) -> None:
        post_notices(engine, key, clock, "citizen-1", [f"tin {n}" for n in range(5)])
        post_notices(engine, key, clock, "citizen-2", ["không phải của bạn"])

        seen: list[str] = []
        cursor: str | None = None
        with Session(engine) as session:
            notifier = Notifier(session, key=key, clock=clock)
            for _ in range(3):
                page, cursor = notifier.list_in_app("citizen-1", limit=2, cursor=cursor)
                seen += [view.body for view in page]
        assert seen == ["tin 4", "tin 3", "tin 2", "tin 1", "tin 0"]
        assert cursor is None

    def test_same_instant_notices_are_neither_lost_nor_repeated(
        self, engine: Engine, key: bytes, clock: FrozenClock
    ) -> None:
        with transaction(engine) as session:
            notifier = Notifier(session, key=key, clock=clock)
            ids = [notifier.send(channel="in_app", to="citizen-1", body=str(n)) for n in range(5)]

        with Session(engine) as session:
            notifier = Notifier(session, key=key, clock=clock)
            first, cursor = notifier.list_in_app("citizen-1", limit=3)
            second, end = notifier.list_in_app("citizen-1", limit=3, cursor=cursor)
        assert sorted(v.body for v in first + second) == ["0", "1", "2", "3", "4"]
        assert end is None
        assert len(ids) == 5

    def test_view_has_subject_body_and_times(self, engine: Engine, key: bytes, clock: FrozenClock) -> None:
        post_notices(engine, key, clock, "citizen-1", ["Hồ sơ đã được duyệt"])

        with Session(engine) as session:
            [view], _ = Notifier(session, key=key, clock=clock).list_in_app("citizen-1")
        assert (view.subject, view.body, view.created_at, view.read_at) == (
            "Thông báo",
            "Hồ sơ đã được duyệt",
            START,
            None,
        )

    def test_mark_read(self, engine: Engine, key: bytes, clock: FrozenClock) -> None:
        post_notices(engine, key, clock, "citizen-1", ["a"])
        with transaction(engine) as session:
            notifier = Notifier(session, key=key, clock=clock)
            [view], _ = notifier.list_in_app("citizen-1")
            notifier.mark_read("citizen-1", view.id)
            read_at = clock.now()
            clock.advance(timedelta(minutes=5))
            notifier.mark_read("citizen-1", view.id)  # idempotent: keeps the first time

        with Session(engine) as session:
            [view], _ = Notifier(session, key=key, clock=clock).list_in_app("citizen-1")
        assert view.read_at == read_at

    def test_another_recipients_notice_is_not_found(self, engine: Engine, key: bytes, clock: FrozenClock) -> None:
        post_notices(engine, key, clock, "citizen-1", ["a"])
        with Session(engine) as session:
            notifier = Notifier(session, key=key, clock=clock)
            [view], _ = notifier.list_in_app("citizen-1")
            with pytest.raises(NoticeNotFound) as caught:
                notifier.mark_read("citizen-2", view.id)
            with pytest.raises(NoticeNotFound):
                notifier.mark_read("citizen-1", "no-such-id")
        assert caught.value.code == "notice_not_found"

    @pytest.mark.parametrize("cursor", ["%%%", "bm90IGEgY3Vyc29y", "MjAyNi0xMS0yNFQwODowMDowMHw"])
    def test_a_forged_cursor_is_refused(self, engine: Engine, key: bytes, clock: FrozenClock, cursor: str) -> None:
        with Session(engine) as session, pytest.raises(InvalidCursor) as caught:
            Notifier(session, key=key, clock=clock).list_in_app("citizen-1", cursor=cursor)
        assert caught.value.code == "invalid_cursor"
