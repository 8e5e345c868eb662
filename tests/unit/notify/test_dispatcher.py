from __future__ import annotations

import json
import logging
import multiprocessing
import stat
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from crypto.clock import FrozenClock
from notify.dispatcher import OutboxDispatcher
from notify.models import OutboxMessage
from notify.repository import OutboxRepository
from notify.senders import DevOutboxFileSender, InAppSender, OutgoingMessage, Sender
from notify.service import Notifier
from storage.db import create_db_engine, sqlite_url, transaction
from tests.unit.notify.conftest import enqueue

pytestmark = pytest.mark.anyio


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def row(engine: Engine, message_id: str) -> OutboxMessage:
    with Session(engine) as session:
        return session.get_one(OutboxMessage, message_id)


def dev_dispatcher(engine: Engine, key: bytes, clock: FrozenClock, path: Path, **options: Any) -> OutboxDispatcher:
    sender = DevOutboxFileSender(path, clock)
    return OutboxDispatcher(engine, {"sms": sender, "email": sender, "in_app": sender}, key=key, clock=clock, **options)


class SlowSender:
    """Yields to the event loop before delivering, so concurrent dispatchers interleave."""

    def __init__(self, inner: Sender) -> None:
        self.inner = inner

    async def send(self, message: OutgoingMessage) -> None:
        await anyio.sleep(0.005)
        await self.inner.send(message)


class HangingSender:
    async def send(self, message: OutgoingMessage) -> None:
        await anyio.sleep_forever()


def append_from_another_process(path: Path, worker: int, count: int) -> None:
    sender = DevOutboxFileSender(path, FrozenClock())
    for n in range(count):
        message = OutgoingMessage(f"{worker}-{n}", "sms", "+8490", None, "Thông báo " * 1000, FrozenClock().now())
        anyio.run(sender.send, message)


class WorkerDied(BaseException):
    """Stands for the process dying between sending and recording."""


class DyingSender:
    async def send(self, message: OutgoingMessage) -> None:
        raise WorkerDied


class TestDevOutboxFile:
    async def test_line_shape_mode_and_vietnamese_text(
        self, engine: Engine, key: bytes, clock: FrozenClock, tmp_path: Path
    ) -> None:
        path = tmp_path / "data" / "outbox.jsonl"
        [message_id] = enqueue(engine, key, clock, channel="email", to="an@example.vn", subject="Xác thực")

        assert await dev_dispatcher(engine, key, clock, path).dispatch() == 1

        assert read_lines(path) == [
            {
                "id": message_id,
                "channel": "email",
                "to": "an@example.vn",
                "subject": "Xác thực",
                "body": "Mã OTP của bạn là 123456",
                "sent_at": "2026-11-24T08:00:00.000Z",
            }
        ]
        assert "Mã OTP của bạn" in path.read_text(encoding="utf-8")  # ensure_ascii=False
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        sent = row(engine, message_id)
        assert (sent.status, sent.sent_at, sent.lease_until, sent.attempts) == ("sent", clock.now(), None, 0)

    async def test_each_message_written_once_across_dispatches(
        self, engine: Engine, key: bytes, clock: FrozenClock, tmp_path: Path
    ) -> None:
        path = tmp_path / "outbox.jsonl"
        first = enqueue(engine, key, clock, count=3)
        dispatcher = dev_dispatcher(engine, key, clock, path)

        assert await dispatcher.dispatch() == 3
        second = enqueue(engine, key, clock, count=2, channel="in_app", to="citizen-1")
        assert await dispatcher.dispatch() == 2
        assert await dispatcher.dispatch() == 0

        lines = read_lines(path)
        assert sorted(line["id"] for line in lines[:3]) == sorted(first)
        assert sorted(line["id"] for line in lines[3:]) == sorted(second)
        assert {line["channel"] for line in lines[3:]} == {"in_app"}

    async def test_concurrent_appends_never_interleave(self, clock: FrozenClock, tmp_path: Path) -> None:
        path = tmp_path / "outbox.jsonl"
        sender = DevOutboxFileSender(path, clock)
        long_body = "Thông báo " * 2000
        async with anyio.create_task_group() as group:
            for n in range(40):
                message = OutgoingMessage(str(n), "sms", "+8490", None, long_body, clock.now())
                group.start_soon(sender.send, message)

        lines = read_lines(path)
        assert sorted(int(line["id"]) for line in lines) == list(range(40))
        assert all(line["body"] == long_body for line in lines)

    async def test_several_processes_share_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "outbox.jsonl"
        with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
            for future in [pool.submit(append_from_another_process, path, worker, 20) for worker in range(2)]:
                future.result()

        assert sorted(line["id"] for line in read_lines(path)) == sorted(
            f"{w}-{n}" for w in range(2) for n in range(20)
        )


class TestLimitsAndSelection:
    async def test_limit_and_ids(self, engine: Engine, key: bytes, clock: FrozenClock, tmp_path: Path) -> None:
        path = tmp_path / "outbox.jsonl"
        ids = enqueue(engine, key, clock, count=30)
        dispatcher = dev_dispatcher(engine, key, clock, path)

        assert await dispatcher.dispatch([ids[7], ids[9]]) == 2
        assert await dispatcher.dispatch(limit=25) == 25
        assert await dispatcher.dispatch() == 3
        assert sorted(line["id"] for line in read_lines(path)) == sorted(ids)

    async def test_a_channel_without_sender_stays_pending(
        self, engine: Engine, key: bytes, clock: FrozenClock, tmp_path: Path
    ) -> None:
        [email] = enqueue(engine, key, clock, channel="email", to="an@example.vn")
        [sms] = enqueue(engine, key, clock)
        dispatcher = OutboxDispatcher(
            engine, {"sms": DevOutboxFileSender(tmp_path / "o.jsonl", clock)}, key=key, clock=clock
        )

        assert await dispatcher.dispatch() == 1
        assert row(engine, sms).status == "sent"
        waiting = row(engine, email)
        assert (waiting.status, waiting.attempts, waiting.lease_until) == ("pending", 0, None)

    async def test_in_app_sender_just_succeeds(self, engine: Engine, key: bytes, clock: FrozenClock) -> None:
        [message_id] = enqueue(engine, key, clock, channel="in_app", to="citizen-1")
        dispatcher = OutboxDispatcher(engine, {"in_app": InAppSender()}, key=key, clock=clock)

        assert await dispatcher.dispatch() == 1
        assert row(engine, message_id).status == "sent"

    async def test_a_row_sealed_under_another_key_fails_without_leaking(
        self, engine: Engine, key: bytes, clock: FrozenClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        [message_id] = enqueue(engine, bytes(32), clock)
        caplog.set_level(logging.DEBUG)

        assert await dev_dispatcher(engine, key, clock, tmp_path / "o.jsonl").dispatch() == 0

        failed = row(engine, message_id)
        assert (failed.status, failed.attempts, failed.last_error) == ("pending", 1, "DecryptionError")
        logged = " ".join(str(record.__dict__) for record in caplog.records)
        assert "DecryptionError" in logged
        assert "+84901234567" not in logged


class TestHangingSender:
    async def test_a_send_outliving_its_lease_is_abandoned_and_retried_later(
        self, engine: Engine, key: bytes, clock: FrozenClock
    ) -> None:
        [message_id] = enqueue(engine, key, clock)
        lease = timedelta(seconds=0.2)
        dispatcher = OutboxDispatcher(engine, {"sms": HangingSender()}, key=key, clock=clock, lease=lease)

        with anyio.fail_after(5):
            assert await dispatcher.dispatch() == 0
        failed = row(engine, message_id)
        assert (failed.status, failed.attempts, failed.last_error, failed.lease_until) == (
            "pending",
            1,
            "TimeoutError",
            None,
        )


class TestCrashRecovery:
    async def test_a_claimed_row_is_resent_only_after_its_lease_expires(
        self, any_engine: Engine, key: bytes, clock: FrozenClock, tmp_path: Path
    ) -> None:
        path = tmp_path / "outbox.jsonl"
        [message_id] = enqueue(any_engine, key, clock)
        dying = OutboxDispatcher(any_engine, {"sms": DyingSender()}, key=key, clock=clock)
        with pytest.raises(BaseExceptionGroup) as died:
            await dying.dispatch()
        assert died.group_contains(WorkerDied)
        leased = row(any_engine, message_id)
        assert (leased.status, leased.lease_until) == ("pending", clock.now() + timedelta(seconds=60))

        survivor = dev_dispatcher(any_engine, key, clock, path)
        clock.advance(timedelta(seconds=60))  # lease_until == now: still held
        assert await survivor.dispatch() == 0
        assert not path.exists()

        clock.advance(timedelta(milliseconds=1))
        assert await survivor.dispatch() == 1
        assert [line["id"] for line in read_lines(path)] == [message_id]
        assert row(any_engine, message_id).status == "sent"

    async def test_a_stale_worker_cannot_overwrite_the_new_claim(
        self, engine: Engine, key: bytes, clock: FrozenClock
    ) -> None:
        [message_id] = enqueue(engine, key, clock)
        with transaction(engine) as session:
            stale = OutboxRepository(session).try_claim(message_id, now=clock.now(), lease_until=clock.now())
        clock.advance(timedelta(seconds=1))
        with transaction(engine) as session:
            fresh = OutboxRepository(session).try_claim(message_id, now=clock.now(), lease_until=clock.now())
        assert stale is not None
        assert fresh is not None

        with transaction(engine) as session:
            outbox = OutboxRepository(session)
            assert not outbox.record_failure(stale, error="SendError", next_attempt_at=clock.now(), dead=True)
            assert outbox.record_failure(fresh, error="SendError", next_attempt_at=clock.now(), dead=False)
        assert (row(engine, message_id).status, row(engine, message_id).attempts) == ("pending", 1)


class TestConcurrentDispatchers:
    async def test_racing_dispatchers_send_each_message_once(
        self, any_engine: Engine, key: bytes, clock: FrozenClock, tmp_path: Path
    ) -> None:
        path = tmp_path / "outbox.jsonl"
        ids = enqueue(any_engine, key, clock, count=60)
        sender = SlowSender(DevOutboxFileSender(path, clock))
        dispatchers = [OutboxDispatcher(any_engine, {"sms": sender}, key=key, clock=clock) for _ in range(3)]
        counts: list[int] = []

        async def run(dispatcher: OutboxDispatcher) -> None:
            counts.append(await dispatcher.dispatch())

        async with anyio.create_task_group() as group:
            for dispatcher in dispatchers:
                group.start_soon(run, dispatcher)

        sent_ids = [line["id"] for line in read_lines(path)]
        assert sorted(sent_ids) == sorted(ids)
        assert sum(counts) == 60
        assert len([c for c in counts if c]) > 1  # they really shared the work

    async def test_a_row_is_claimed_once(self, any_engine: Engine, key: bytes, clock: FrozenClock) -> None:
        [message_id] = enqueue(any_engine, key, clock)
        lease_until = clock.now() + timedelta(seconds=60)
        with transaction(any_engine) as session:
            outbox = OutboxRepository(session)
            assert outbox.try_claim(message_id, now=clock.now(), lease_until=lease_until) is not None
        with transaction(any_engine) as session:
            outbox = OutboxRepository(session)
            assert outbox.due_ids(now=clock.now(), channels={"sms"}, ids=None, limit=10) == []
            assert outbox.try_claim(message_id, now=clock.now(), lease_until=lease_until) is None


class TestRun:
    async def test_run_delivers_and_is_cancellable(
        self, engine: Engine, key: bytes, clock: FrozenClock, tmp_path: Path
    ) -> None:
        path = tmp_path / "outbox.jsonl"
        dispatcher = dev_dispatcher(engine, key, clock, path)
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(lambda: dispatcher.run(interval=0.01))
                [message_id] = enqueue(engine, key, clock)
                while not path.exists():
                    await anyio.sleep(0.01)
                group.cancel_scope.cancel()
        assert [line["id"] for line in read_lines(path)] == [message_id]

    async def test_run_survives_errors_and_logs_only_their_class(
        self, key: bytes, clock: FrozenClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        unmigrated = create_db_engine(sqlite_url(tmp_path / "empty.db"))
        dispatcher = OutboxDispatcher(unmigrated, {"sms": InAppSender()}, key=key, clock=clock)
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(lambda: dispatcher.run(interval=0.01))
                while len([r for r in caplog.records if r.message == "outbox dispatch failed"]) < 3:
                    await anyio.sleep(0.01)
                group.cancel_scope.cancel()
        unmigrated.dispose()
        assert {getattr(r, "error", None) for r in caplog.records} == {"OperationalError"}


class TestNotifierAndDispatcherTogether:
    async def test_notify_all_reaches_every_channel(
        self, engine: Engine, key: bytes, clock: FrozenClock, tmp_path: Path
    ) -> None:
        path = tmp_path / "outbox.jsonl"
        with transaction(engine) as session:
            ids = Notifier(session, key=key, clock=clock).notify_all(
                recipient_id="citizen-1", phone="+84901234567", email="an@example.vn", subject="Chào", body="Xin chào"
            )

        assert await dev_dispatcher(engine, key, clock, path).dispatch(ids) == 3
        assert {(line["channel"], line["to"]) for line in read_lines(path)} == {
            ("sms", "+84901234567"),
            ("email", "an@example.vn"),
            ("in_app", "citizen-1"),
        }
        with Session(engine) as session:
            assert {r.status for r in session.exec(select(OutboxMessage))} == {"sent"}


class TestConstruction:
    def test_a_short_key_is_refused_at_once(self, engine: Engine, clock: FrozenClock) -> None:
        with pytest.raises(ValueError, match="32 bytes"):
            OutboxDispatcher(engine, {}, key=b"k" * 16, clock=clock)
