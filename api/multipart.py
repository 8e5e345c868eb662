"""Streaming multipart/form-data: file parts flow to a consumer as they arrive, never buffered whole
and never written in clear to disk. Text parts are collected, bounded in size."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from litestar import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from identity.errors import ValidationFailed

T = TypeVar("T")
_MAX_PART_HEADER_LINES = 16  # a browser sends two (Content-Disposition, Content-Type)
# Chunks of a file part (each one ASGI message, ~64 KiB) held for its consumer: about one of its batches
# (`wallet.files`), so the request keeps being read while the consumer seals the batch before.
_FILE_BUFFER_CHUNKS = 16
FileConsumer = Callable[[str, str | None, AsyncIterator[bytes]], Awaitable[T]]
# Sees the form as read before its first file part (all of it when none is a file); raising refuses the form before
# any file is handed over (the pages check their CSRF token so, from a part placed first).
Gate = Callable[["StreamedForm"], None]


class MalformedMultipart(ValidationFailed):
    """The body is not the multipart/form-data it claims to be."""

    code = "malformed_request"

    def __init__(self, detail: str) -> None:
        super().__init__({"body": [detail]})


class MultipartTooLarge(ValidationFailed):
    """A bound of the multipart reader was crossed; reading stopped there."""

    code = "multipart_too_large"
    title = "Biểu mẫu gửi lên quá lớn"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__({field: [detail]})


class PartHeadersTooLarge(MultipartTooLarge):
    code = "part_headers_too_large"
    title = "Phần đầu của một phần biểu mẫu quá lớn"


class TooManyParts(MultipartTooLarge):
    code = "too_many_parts"
    title = "Biểu mẫu có quá nhiều phần"


class TextPartTooLarge(MultipartTooLarge):
    code = "text_part_too_large"
    title = "Một trường văn bản quá lớn"


@dataclass(frozen=True)
class MultipartLimits:
    """What one form may make the reader hold: the defaults are those of `api.settings`."""

    part_header_bytes: int = 8 * 1024
    parts: int = 64
    text_part_bytes: int = 64 * 1024


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    header_bytes: int = 0
    name: str = ""
    filename: str | None = None
    text: bytearray = field(default_factory=bytearray)
    sink: MemoryObjectSendStream[bytes] | None = None


@dataclass
class StreamedForm:
    fields: dict[str, str]  # the last value of each text field
    files: list[Any]
    lists: dict[str, list[str]] = field(default_factory=dict)  # every value of each text field, in order


class _Events:
    """Collects the parser's callbacks; they are synchronous, the sending is not."""

    def __init__(self) -> None:
        self.queue: list[tuple[str, bytes]] = []
        self._field = b""

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": lambda: self.queue.append(("begin", b"")),
            "on_part_data": lambda data, start, end: self.queue.append(("data", bytes(data[start:end]))),
            "on_part_end": lambda: self.queue.append(("end", b"")),
            "on_header_field": lambda data, start, end: self._header_field(bytes(data[start:end])),
            "on_header_value": lambda data, start, end: self.queue.append(("value", bytes(data[start:end]))),
            "on_header_end": lambda: self.queue.append(("header_end", b"")),
            "on_headers_finished": lambda: self.queue.append(("headers_done", b"")),
        }

    def _header_field(self, data: bytes) -> None:
        self.queue.append(("field", data))


async def read_multipart(
    request: Request[Any, Any, Any],
    on_file: FileConsumer[T],
    *,
    max_text_bytes: int = 256 * 1024,
    max_files: int = 10,
    gate: Gate | None = None,
    limits: MultipartLimits | None = None,
) -> StreamedForm:
    """Parse the request body; each file part is handed to `on_file(name, filename, chunks)` while it
    streams (in a task of its own); returns the text fields and what each consumer returned.
    A form without files may also come URL-encoded. `gate`, if given, is called once (see `Gate`)."""
    content_type = request.headers.get("content-type", "")
    if parse_options_header(content_type)[0] == b"application/x-www-form-urlencoded":
        pairs = await _urlencoded(request, max_text_bytes)
        lists: dict[str, list[str]] = {}
        for name, value in pairs:
            lists.setdefault(name, []).append(value)
        form = StreamedForm(dict(pairs), [], lists)
        if gate is not None:
            gate(form)
        return form
    boundary = _boundary(content_type)
    events = _Events()
    limits = limits or MultipartLimits()
    parser = MultipartParser(
        boundary,
        events.callbacks(),  # type: ignore[arg-type]
        max_header_count=_MAX_PART_HEADER_LINES,
        max_header_size=limits.part_header_bytes,
    )
    state = _ParseState(on_file, max_text_bytes, max_files, gate, limits)
    try:
        async with anyio.create_task_group() as tasks:
            state.tasks = tasks
            async for chunk in request.stream():
                _feed(parser, chunk)
                await state.apply(events)
            _feed(parser, None)
            await state.apply(events)
            if state.part is not None:
                raise MalformedMultipart("the multipart body ends inside a part")
            state.pass_gate()
    except BaseExceptionGroup as group:
        raise _first_cause(group) from None
    return StreamedForm(state.fields, state.results, state.lists)


def _feed(parser: MultipartParser, chunk: bytes | None) -> None:
    try:
        if chunk is None:
            parser.finalize()
        else:
            parser.write(chunk)
    except FormParserError as exc:
        # The parser's own bounds (one header line, header lines per part) are ours too: the same stable code.
        if str(exc).startswith("Maximum header"):
            raise PartHeadersTooLarge("body", "a part's headers are too large") from exc
        raise MalformedMultipart("the multipart body is malformed") from exc


def _first_cause(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error that stopped the upload, rather than the cancellations it caused."""
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            leaves.append(exc)

    walk(group)
    meaningful = [e for e in leaves if not isinstance(e, anyio.get_cancelled_exc_class() | anyio.BrokenResourceError)]
    return (meaningful or leaves)[0]


async def _urlencoded(request: Request[Any, Any, Any], limit: int) -> list[tuple[str, str]]:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ValidationFailed({"body": ["text fields are too large"]})
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise MalformedMultipart("the form must be UTF-8") from exc
    return pairs


def _boundary(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise MalformedMultipart("expected multipart/form-data with a boundary")
    return boundary


class _ParseState:
    def __init__(
        self,
        on_file: FileConsumer[Any],
        max_text_bytes: int,
        max_files: int,
        gate: Gate | None,
        limits: MultipartLimits,
    ) -> None:
        self.on_file = on_file
        self.limits = limits
        self.part_count = 0
        self.max_text_bytes = max_text_bytes
        self.max_files = max_files
        self.gate = gate
        self.fields: dict[str, str] = {}
        self.lists: dict[str, list[str]] = {}
        self.results: list[Any] = []
        self.part: _Part | None = None
        self.header_name = b""
        self.text_total = 0
        self.tasks: anyio.abc.TaskGroup | None = None

    def pass_gate(self) -> None:
        gate, self.gate = self.gate, None
        if gate is not None:
            gate(StreamedForm(self.fields, self.results, self.lists))

    async def apply(self, events: _Events) -> None:
        queue, events.queue = events.queue, []
        for kind, data in queue:
            await self._apply_one(kind, data)

    async def _apply_one(self, kind: str, data: bytes) -> None:
        if kind == "begin":
            self.part_count += 1
            if self.part_count > self.limits.parts:
                raise TooManyParts("body", f"at most {self.limits.parts} parts")
            self.part = _Part()
            self.header_name = b""
        elif kind in {"field", "value"} and self.part is not None:
            self._count_header(self.part, data)
        if kind == "field":
            self.header_name += data
        elif kind == "value" and self.part is not None:
            name = self.header_name.lower()
            self.part.headers[name] = self.part.headers.get(name, b"") + data
        elif kind == "header_end":
            self.header_name = b""
        elif kind == "headers_done" and self.part is not None:
            await self._start_part(self.part)
        elif kind == "data" and self.part is not None:
            await self._data(self.part, data)
        elif kind == "end" and self.part is not None:
            await self._end_part(self.part)
            self.part = None

    def _count_header(self, part: _Part, data: bytes) -> None:
        part.header_bytes += len(data)
        if part.header_bytes > self.limits.part_header_bytes:
            raise PartHeadersTooLarge("body", f"a part's headers exceed {self.limits.part_header_bytes} bytes")

    async def _start_part(self, part: _Part) -> None:
        disposition, options = parse_options_header(part.headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in options:
            raise MalformedMultipart("each part needs Content-Disposition: form-data; name=...")
        part.name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            self.pass_gate()
            part.filename = options[b"filename"].decode("utf-8", "replace")
            if len(self.results) >= self.max_files:
                raise ValidationFailed({"file": [f"at most {self.max_files} files"]})
            send, receive = anyio.create_memory_object_stream[bytes](_FILE_BUFFER_CHUNKS)
            part.sink = send
            if self.tasks is None:
                raise RuntimeError("parts arrive only inside read_multipart")
            index = len(self.results)
            self.results.append(None)  # the slot keeps results in the order of the parts
            self.tasks.start_soon(self._consume, index, part.name, part.filename, receive)

    async def _consume(
        self, index: int, name: str, filename: str | None, receive: MemoryObjectReceiveStream[bytes]
    ) -> None:
        async with receive:
            self.results[index] = await self.on_file(name, filename, _chunks(receive))

    async def _data(self, part: _Part, data: bytes) -> None:
        if part.sink is not None:
            await part.sink.send(data)
            return
        self.text_total += len(data)
        if self.text_total > self.max_text_bytes:
            raise ValidationFailed({part.name or "body": ["text fields are too large"]})
        if len(part.text) + len(data) > self.limits.text_part_bytes:
            raise TextPartTooLarge(part.name or "body", f"at most {self.limits.text_part_bytes} bytes")
        part.text += data

    async def _end_part(self, part: _Part) -> None:
        if part.sink is not None:
            await part.sink.aclose()
            return
        try:
            self.fields[part.name] = part.text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationFailed({part.name: ["must be UTF-8 text"]}) from exc
        self.lists.setdefault(part.name, []).append(self.fields[part.name])


async def _chunks(receive: MemoryObjectReceiveStream[bytes]) -> AsyncIterator[bytes]:
    async for chunk in receive:
        yield chunk
