"""The application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncGenerator, Sequence
from contextlib import asynccontextmanager, suppress
from functools import partial

import anyio
import structlog
from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.types import ControllerRouterHandler
from sqlalchemy import Engine

from api.auth import AUTH_DEPENDENCIES, enforce_policy
from api.container import Container, build_container
from api.controllers.agency_forms import AgencyApplicationsController, StatsController
from api.controllers.auth import AuthController
from api.controllers.consent import ConsentPullsController, ConsentRequestsController, MyConsentsController
from api.controllers.counter import CounterDossiersController
from api.controllers.documents import DocumentsController, DocumentTypesController
from api.controllers.eid import EidController
from api.controllers.forms import ApplicationsController, ProceduresController
from api.controllers.health import health
from api.controllers.identity import IdentityController, RecoveryController
from api.controllers.issuer import IssuerController
from api.controllers.jwks import jwks
from api.controllers.me import MeController
from api.controllers.notifications import NotificationsController
from api.controllers.oauth import OAuthController
from api.controllers.qr import QrController
from api.controllers.verify import DocumentQrController, VerifyController
from api.deps import provide_account_service, provide_auth_service, provide_session_service
from api.errors import exception_handlers
from api.gauges import PREFIX
from api.json_guard import json_guard
from api.limits import cors_for_api, header_limits
from api.logging import configure_logging
from api.middleware import access_log_middleware, add_security_headers
from api.openapi_allow import allow_matches_route
from api.openapi_swagger import LocalSwaggerPlugin, swagger_csp
from api.openapi_truth import TruthfulJsonPlugin
from api.policy import POLICY, Policy
from api.settings import Settings
from api.unit import provide_unit
from audit.appends import CHAIN_INTERVAL_SECONDS, chain_committed
from audit.checkpoints import CheckpointService
from crypto.clock import Clock
from storage.db import is_sqlite, transaction
from storage.migrate import Chain, current_revision, head_revision
from wallet.janitor import Janitor
from web.app import csrf_config, page_headers, pages_router, static_router, template_config

log = structlog.get_logger("api.app")
API_PREFIX = "/api/v1"


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Công Dân Số API",
        version="1.0.0",
        description="Citizen personal data wallet: once-only data for Vietnam's online public services.",
        path="/schema",
        render_plugins=[TruthfulJsonPlugin(path=["/", "/openapi.json"]), LocalSwaggerPlugin(path="/swagger")],
        components=Components(
            security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
        ),
    )


def _compression() -> CompressionConfig:
    """gzip for pages, assets and JSON on phone networks; never for the papers' scans (PDF, JPEG… are compressed
    already, and compressing a stream would hold it back)."""
    return CompressionConfig(
        backend="gzip", gzip_compress_level=6, minimum_size=860, exclude=[r"/files/", r"^/metrics"]
    )


def _metrics() -> PrometheusConfig:
    return PrometheusConfig(app_name="congdanso", prefix=PREFIX, group_path=True, exclude=["/metrics"])


def _header_limits(settings: Settings) -> DefineMiddleware:
    return DefineMiddleware(header_limits, max_headers=settings.max_headers, max_bytes=settings.max_header_kb * 1024)


def _json_guard(settings: Settings) -> DefineMiddleware:
    return DefineMiddleware(json_guard, max_depth=settings.max_json_depth, read_ahead=settings.max_json_kb * 1024)


def _dependencies() -> dict[str, Provide]:
    return {
        "unit": Provide(provide_unit),
        "auth_service": Provide(provide_auth_service, sync_to_thread=False),
        "session_service": Provide(provide_session_service, sync_to_thread=False),
        "account_service": Provide(provide_account_service, sync_to_thread=False),
        **AUTH_DEPENDENCIES,
    }


def _check_schema(container: Container) -> None:
    engines: dict[Chain, Engine] = {
        "main": container.engine,
        "throttle": container.throttle_engine,
        "keystore": container.keystore_engine,
    }
    for chain, engine in engines.items():
        current, head = current_revision(engine, chain=chain), head_revision(chain)
        if current != head:
            raise RuntimeError(f"{chain} schema at {current}, code expects {head}: run `congdanso migrate`")


async def run_janitor(container: Container, *, interval: float) -> None:
    """Collect leftovers periodically; a failure is logged and retried at the next round."""
    janitor = Janitor(container.wallet)
    while True:
        await anyio.sleep(interval)
        try:
            report = await janitor.collect()
            log.info("janitor", **vars(report))
        except Exception as exc:  # the loop must survive storage or database outages
            log.warning("janitor_failed", error=type(exc).__name__)


async def run_audit_chain(container: Container, *, interval: float) -> None:
    """Chain the access-log entries committed since the last pass, a batch at a time (PostgreSQL: appends take no
    chain lock, `audit.appends`); a failure is retried next round."""
    if is_sqlite(container.engine):
        return  # entries are chained in the transaction that records them
    while True:
        await anyio.sleep(interval)
        try:
            await anyio.to_thread.run_sync(chain_committed, container.engine)
        except Exception as exc:  # the loop must survive database outages
            log.warning("audit_chain_failed", error=type(exc).__name__)


async def run_audit_checkpoints(container: Container, *, interval: float) -> None:
    """Sign a checkpoint of the access log's head periodically (skipped when nothing was appended since the last
    one); a failure is logged and retried at the next round."""

    def make() -> None:
        with transaction(container.engine) as session:
            made = CheckpointService(session, container.clock, container.keyring).make()
        if made is not None and made.created:
            log.info("audit_checkpoint", seq=made.checkpoint.seq, kid=made.checkpoint.kid)

    while True:
        await anyio.sleep(interval)
        try:
            await anyio.to_thread.run_sync(make)
        except Exception as exc:  # the loop must survive database outages and keyring trouble
            log.warning("audit_checkpoint_failed", error=type(exc).__name__)


def check_policy(app: Litestar, policy: Policy) -> None:
    """Start only when every route the app serves has its entry in the policy table (and every entry a route)."""
    policy.check_covers((method, route.path_format) for route in app.routes for method in route.methods)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    container: Container | None = None,
    policy: Policy = POLICY,
    extra_routes: Sequence[ControllerRouterHandler] = (),
) -> Litestar:
    settings = settings or (container.settings if container else Settings())
    configure_logging(settings.log_level, json=settings.log_json)
    container = container or build_container(settings, clock=clock)
    _check_schema(container)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        async with anyio.create_task_group() as tasks:
            if settings.background == "inline":  # else one `congdanso jobs worker` runs them as jobs (`jobs`)
                tasks.start_soon(partial(container.dispatcher.run, interval=settings.outbox_interval_seconds))
                tasks.start_soon(partial(run_janitor, container, interval=settings.gc_interval_seconds))
                tasks.start_soon(partial(run_audit_checkpoints, container, interval=settings.audit_checkpoint_seconds))
                tasks.start_soon(partial(run_audit_chain, container, interval=CHAIN_INTERVAL_SECONDS))
            try:
                yield
            finally:
                tasks.cancel_scope.cancel()
        with suppress(Exception):
            await container.aclose()

    api = Router(
        API_PREFIX,
        middleware=[_json_guard(settings)],
        route_handlers=[
            AuthController,
            EidController,
            RecoveryController,
            IdentityController,
            MeController,
            NotificationsController,
            ProceduresController,
            ApplicationsController,
            AgencyApplicationsController,
            CounterDossiersController,
            StatsController,
            OAuthController,
            DocumentTypesController,
            DocumentsController,
            QrController,
            IssuerController,
            VerifyController,
            DocumentQrController,
            ConsentRequestsController,
            MyConsentsController,
            ConsentPullsController,
        ],
    )
    app = Litestar(
        route_handlers=[api, health, jwks, PrometheusController, pages_router(), static_router(), *extra_routes],
        guards=[enforce_policy],
        dependencies=_dependencies(),
        exception_handlers=exception_handlers(),
        middleware=[
            access_log_middleware,
            _header_limits(settings),
            DefineMiddleware(cors_for_api, origins=settings.cors_origins, prefix=API_PREFIX),
            _metrics().middleware,
        ],
        before_send=[add_security_headers, page_headers, allow_matches_route, swagger_csp(["/schema/swagger"])],
        template_config=template_config(),
        compression_config=_compression(),
        csrf_config=csrf_config(container.keyring()),
        openapi_config=_openapi(),
        lifespan=[lifespan],
        state=State({"container": container, "policy": policy}),
        request_max_body_size=settings.max_json_kb * 1024,
        debug=False,
        logging_config=None,  # api.logging configures every logger; Litestar's would replace the root's handlers
    )
    check_policy(app, policy)
    return app


def app_factory() -> Litestar:
    """Entry point for `uvicorn --factory api.app:app_factory` (each worker builds its own)."""
    app = create_app()
    freeze_startup_heap()
    return app


def freeze_startup_heap() -> None:
    """Take what start-up built (modules, the app, its routes and schemas: ~200k objects) out of the garbage
    collector's sight for the life of the worker. Otherwise every full collection walks all of it: ~120 ms here, during
    which the event loop answers nobody, and under load that pause was the p99 of the fast paths (a counter scan's p99
    156 ms at a p50 of 25 ms). Once a worker process: frozen objects are never freed, so never for apps that come and
    go (the tests build hundreds)."""
    gc.collect()
    gc.freeze()
