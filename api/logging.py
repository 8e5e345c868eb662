"""Structured logs (JSON lines by default). Nothing here ever logs bodies, tokens or OTP codes.

structlog's lines and the standard library's (the domain packages log through `logging` with `extra=`, as do the
libraries) go through one formatter, so both are JSON objects carrying their fields and the request's context (its
`request_id`). When `CDS_LOG_COPY_DIR` names a folder, every line is also appended to a file of this process there:
the test suite reads those files to prove that no line holds personal data or a secret.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import structlog

LOG_COPY_DIR_ENV = "CDS_LOG_COPY_DIR"
_COPY_HANDLER_NAME = "congdanso-log-copy"
# Our packages, whose loggers (and, for profiles, frames) are the service's own.
OWN_PACKAGES = (
    "api",
    "web",
    "identity",
    "wallet",
    "consent",
    "forms",
    "assurance",
    "audit",
    "notify",
    "crypto",
    "storage",
)


def _shared_processors() -> list[structlog.types.Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _formatter(json: bool) -> logging.Formatter:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if json else structlog.dev.ConsoleRenderer()
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, structlog.stdlib.ExtraAdder(), *_shared_processors()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )


def _copy_handler(folder: str) -> logging.Handler:
    """Appends this process's lines, as JSON, to `<folder>/<pid>.jsonl` (several processes share the folder)."""
    path = Path(folder) / f"{os.getpid()}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.set_name(_COPY_HANDLER_NAME)
    handler.setFormatter(_formatter(json=True))
    return handler


def configure_logging(level: str = "info", *, json: bool = True) -> None:
    numeric: int = logging.getLevelName(level.upper())
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(_formatter(json))
    stderr.setLevel(numeric)
    handlers: list[logging.Handler] = [stderr]
    if folder := os.environ.get(LOG_COPY_DIR_ENV):
        handlers.append(_copy_handler(folder))
    logging.basicConfig(handlers=handlers, level=numeric, force=True)
    for chatty in ("httpx", "httpcore"):
        # They log every request's whole URL at info: a query may hold a token (`/verify/documents?token=`, an
        # OpenID `state` or `code`), so only their warnings are kept.
        logging.getLogger(chatty).setLevel(max(numeric, logging.WARNING))
    if len(handlers) > 1:
        _copy_everything(handlers[1])
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_logger_name,
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )


def _copy_everything(copy: logging.Handler) -> None:
    """The copy holds every line this code could write at any level (the service's own loggers open to debug, the
    console still filtered), and uvicorn's, whose loggers do not propagate to the root."""
    for package in OWN_PACKAGES:
        logging.getLogger(package).setLevel(logging.DEBUG)
    for name in ("uvicorn", "uvicorn.access"):
        served = logging.getLogger(name)
        for stale in [h for h in served.handlers if h.get_name() == _COPY_HANDLER_NAME]:
            served.removeHandler(stale)
        served.addHandler(copy)
