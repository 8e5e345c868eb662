"""The staff pages' router: `/officer/<area>` modules (each exporting ROUTES) picked up like the citizen's areas."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from litestar import Router
from litestar.di import Provide

from web.session import require_officer

AREAS = ("auth", "scan", "desk", "requests", "stats")


def area_routes() -> list[Any]:
    routes: list[Any] = []
    for area in AREAS:
        name = f"web.officer.controllers.{area}"
        if importlib.util.find_spec(name) is not None:
            routes += importlib.import_module(name).ROUTES
    return routes


def officer_router() -> Router:
    return Router(
        path="/officer",
        route_handlers=area_routes(),
        dependencies={"officer": Provide(require_officer)},
        include_in_schema=False,
    )
