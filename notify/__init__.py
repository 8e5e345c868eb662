"""Notifications (SMS, email, in-app) through a transactional outbox.

`Notifier` queues notices in the caller's transaction; `OutboxDispatcher` delivers them later
through the configured `Sender`s, at least once, with the outbox id as idempotency key.
"""

from notify.dispatcher import OutboxDispatcher
from notify.errors import InvalidCursor, NoticeNotFound, NotifyError
from notify.models import InAppNotice, OutboxMessage
from notify.schemas import Channel, InAppNoticeView
from notify.senders import (
    DevOutboxFileSender,
    InAppSender,
    LoggingSender,
    OutgoingMessage,
    Sender,
    SendError,
    SmsGatewaySender,
    SmtpSender,
)
from notify.service import Notifier

__all__ = [
    "Channel",
    "DevOutboxFileSender",
    "InAppNotice",
    "InAppNoticeView",
    "InAppSender",
    "InvalidCursor",
    "LoggingSender",
    "NoticeNotFound",
    "Notifier",
    "NotifyError",
    "OutboxDispatcher",
    "OutboxMessage",
    "OutgoingMessage",
    "SendError",
    "Sender",
    "SmsGatewaySender",
    "SmtpSender",
]
