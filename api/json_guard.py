"""Refuse malformed JSON bodies before any guard, throttle or handler sees them.

A body that is not UTF-8, nests deeper than a small bound, or is not JSON at all answers 400 `malformed_request`.
Decoders fail on such bodies in ways they do not promise (a RecursionError a thousand levels down, a
UnicodeDecodeError), so the API checks them once, here, for every route, whatever decoder the route uses.

Memory stays bounded: a body up to the JSON size limit is read ahead, checked whole (syntax included) and replayed
to the route; a longer one (routes with a limit of their own, such as the issuers' push) is checked chunk by chunk
as the route reads it, and the route's own size limit still answers 413. Multipart bodies are left to the
streaming multipart reader.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from identity.errors import ValidationFailed

# Bytes that change the nesting state; everything else is skipped by the regex engine, not by Python.
_STRUCTURAL = re.compile(rb'["\\\[\]{}]')
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class MalformedJson(ValidationFailed):
    """The body is not UTF-8 JSON within the nesting bound."""

    code = "malformed_request"
    title = "Yêu cầu không hợp lệ"

    def __init__(self, detail: str) -> None:
        super().__init__({"body": [detail]})


@dataclass
class BodyScanner:
    """Incremental UTF-8 and nesting-depth check over a body arriving in chunks.

    Brackets inside strings do not count; an escape may straddle two chunks. The scanner does not parse JSON:
    syntax is left to a decoder, which is safe to run once the depth is known to be small.
    """

    max_depth: int
    depth: int = 0
    in_string: bool = False
    skip_next: bool = False  # the byte after a backslash inside a string
    _utf8: codecs.IncrementalDecoder = field(default_factory=codecs.getincrementaldecoder("utf-8"))

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        try:
            self._utf8.decode(chunk, final=final)
        except UnicodeDecodeError:
            raise MalformedJson("the body is not valid UTF-8") from None
        self._scan(chunk)

    def _scan(self, chunk: bytes) -> None:
        pos = 0
        if self.skip_next and chunk:
            self.skip_next, pos = False, 1
        while match := _STRUCTURAL.search(chunk, pos):
            byte, pos = match.group(), match.end()
            if self.in_string:
                if byte == b"\\":
                    if pos < len(chunk):
                        pos += 1
                    else:
                        self.skip_next = True
                elif byte == b'"':
                    self.in_string = False
            elif byte == b'"':
                self.in_string = True
            elif byte in b"[{":
                self.depth += 1
                if self.depth > self.max_depth:
                    raise MalformedJson(f"the body nests deeper than {self.max_depth} levels")
            elif byte in b"]}":
                self.depth -= 1


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _check_syntax(body: bytes, content_type: str) -> None:
    if not body.strip() or content_type == "application/x-www-form-urlencoded":
        return  # no body is the route's concern; a form is not JSON (the scanner still checked its bytes)
    try:
        msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise MalformedJson("the body is not valid JSON") from None


def json_guard(app: ASGIApp, *, max_depth: int, read_ahead: int) -> ASGIApp:
    """ASGI middleware checking every non-multipart request body of the routes it wraps."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        content_type = _content_type(scope)
        if (
            scope["type"] != ScopeType.HTTP
            or scope.get("method") not in _BODY_METHODS
            or content_type.startswith("multipart/")
        ):
            await app(scope, receive, send)
            return
        scanner = BodyScanner(max_depth)
        length = _content_length(scope)
        if length is not None and length > read_ahead:
            await app(scope, _checked(receive, scanner), send)  # the route's size limit answers first
            return
        buffered, body = await _read_ahead(receive, scanner, read_ahead)
        if body is not None:
            _check_syntax(body, content_type)
        await app(scope, _replay(buffered, receive if body is not None else _checked(receive, scanner)), send)

    return middleware


async def _read_ahead(receive: Receive, scanner: BodyScanner, limit: int) -> tuple[list[ReceiveMessage], bytes | None]:
    """Read and check up to about `limit` bytes; (the messages read, the whole body or None if it is longer)."""
    messages: list[ReceiveMessage] = []
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, b""  # a disconnect: the route will see it
        chunk: bytes = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
        scanner.feed(chunk, final=not more)
        if not more:
            break
    return messages, b"".join(
        chunks
    ) if size <= limit else None  # over it, the route's own size limit decides (413, or a larger one)


def _checked(receive: Receive, scanner: BodyScanner) -> Receive:
    async def checked_receive() -> ReceiveMessage:
        message = await receive()
        if message["type"] == "http.request":
            scanner.feed(message.get("body", b""), final=not message.get("more_body", False))
        return message

    return checked_receive


def _replay(messages: list[ReceiveMessage], then: Receive) -> Receive:
    """The messages read ahead, then the rest of the stream (or, after the body, the wait for a disconnect)."""
    pending = list(messages)

    async def replay_receive() -> ReceiveMessage:
        return pending.pop(0) if pending else await then()

    return replay_receive


__all__ = ["BodyScanner", "MalformedJson", "json_guard"]
