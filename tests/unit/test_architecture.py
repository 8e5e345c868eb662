"""The dependency direction of STYLE.md, checked on the source (AST) of every module of our packages.

crypto and storage are the foundation: they import no other package of ours (not even each other);
the domain (identity, notify, wallet, consent, forms, audit) never imports api; wallet never imports consent;
identity never imports wallet or consent; notify and audit build only on crypto and storage; only api
imports Litestar. Imports inside functions and under TYPE_CHECKING count too, and relative imports are
resolved against the module's own package.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = (
    "api", "web", "identity", "wallet", "consent", "forms", "notify", "audit", "assurance", "seed", "crypto", "storage",
    "stack", "jobs", "backup",
)  # fmt: skip
DOMAIN = ("identity", "notify", "wallet", "consent", "forms", "audit", "assurance", "seed")

# Every package above crypto and storage, and the web framework: what the operations packages that work only through
# crypto and storage (or over HTTP) may not import.
ABOVE_STORAGE = frozenset(
    {"api", "web", "identity", "wallet", "consent", "forms", "notify", "audit", "assurance", "seed", "stack", "jobs"}
    | {"backup", "litestar"}
)
# importer package -> packages it must not import (a package never "imports" itself)
FORBIDDEN: dict[str, frozenset[str]] = {
    # crypto and storage know nothing of HTTP or of the domain, nor of each other
    "crypto": ABOVE_STORAGE | {"storage"},
    "storage": ABOVE_STORAGE | {"crypto"},
    "identity": frozenset({"api", "jobs", "wallet", "consent", "forms", "assurance", "web", "seed", "litestar"}),
    "notify": frozenset(
        {"api", "jobs", "identity", "wallet", "consent", "forms", "assurance", "web", "seed", "litestar"}
    ),
    "wallet": frozenset({"api", "jobs", "consent", "forms", "assurance", "web", "seed", "litestar"}),
    "consent": frozenset({"api", "jobs", "forms", "assurance", "web", "seed", "litestar"}),
    # forms builds on the wallet (papers, issuing), identity (contacts), audit and notify; never on consent
    "forms": frozenset({"api", "jobs", "consent", "assurance", "web", "seed", "litestar"}),
    # audit builds only on crypto and storage; any other package may record into it
    "audit": frozenset(
        {"api", "jobs", "identity", "wallet", "consent", "forms", "notify", "assurance", "web", "seed", "litestar"}
    ),
    # assurance composes identity, wallet, consent and forms (proofing, recovery, closing an impostor's account);
    # only api imports it
    "assurance": frozenset({"api", "jobs", "web", "seed", "litestar"}),
    # seed builds synthetic citizens, papers and dossiers with identity's, the wallet's and forms' own sealing; only
    # api imports it
    "seed": frozenset({"api", "jobs", "web", "consent", "assurance", "litestar"}),
    # the pages sit beside api: they use its composition root (container, unit of work) and the domain's services
    # background jobs call the domain's services for the api's `congdanso jobs` commands; only api imports them
    "jobs": frozenset({"api", "web", "seed", "stack", "litestar"}),
    "web": frozenset(),
    "api": frozenset(),
    # the local stack runs the service as processes and speaks to it over HTTP and its settings file only
    "stack": ABOVE_STORAGE - {"stack"},
    # backups dump the databases and copy the key store and the blobs through storage and crypto; only api imports it
    "backup": ABOVE_STORAGE - {"backup"},
}
ALLOWED_OURS_FOR_NOTIFY = frozenset({"notify", "crypto", "storage"})


@dataclass(frozen=True)
class Edge:
    module: str  # dotted name of the importing module
    target: str  # dotted name of what it imports
    line: int

    @property
    def source_package(self) -> str:
        return self.module.split(".")[0]

    @property
    def target_package(self) -> str:
        return self.target.split(".")[0]


class UnresolvableImport(Exception):
    """A relative import that climbs above the top-level package."""


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    package = module.split(".") if is_package else module.split(".")[:-1]
    if level - 1 >= len(package):
        raise UnresolvableImport(f"{module}: relative import of level {level} leaves the top-level package")
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, name] if name else base)


def _from_base(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level:
        return _resolve_relative(module, is_package, node.level, node.module)
    return node.module or ""


def imports_of(source: str, module: str, *, is_package: bool = False) -> Iterator[Edge]:
    """Every module `source` imports: `import x.y`, `from x.y import z` (z may be a submodule),
    relative imports, and `importlib.import_module("x")` / `__import__("x")` with a literal name."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Edge(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _from_base(node, module, is_package)
            if base == "__future__":
                continue
            yield Edge(module, base, node.lineno)
            for alias in node.names:
                if alias.name != "*":
                    yield Edge(module, f"{base}.{alias.name}", node.lineno)
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield Edge(module, first.value, node.lineno)


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in {"__import__", "import_module"}
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def violations(edges: Iterator[Edge] | list[Edge]) -> list[str]:
    found = []
    for edge in edges:
        source, target = edge.source_package, edge.target_package
        if source == target or source not in FORBIDDEN:
            continue
        if target in FORBIDDEN[source]:
            found.append(f"{edge.module}:{edge.line} imports {edge.target} ({source} must not import {target})")
        elif source == "notify" and target in OURS and target not in ALLOWED_OURS_FOR_NOTIFY:
            found.append(f"{edge.module}:{edge.line} imports {edge.target} (notify builds only on crypto/storage)")
    return found


def package_files(package: str, root: Path = ROOT) -> list[Path]:
    folder = root / package
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*.py") if ".venv" not in p.parts)


def edges_of_file(path: Path, root: Path = ROOT) -> list[Edge]:
    source = path.read_text(encoding="utf-8")
    return list(imports_of(source, module_name(path, root), is_package=path.name == "__init__.py"))


@pytest.fixture(scope="module")
def project_edges() -> list[Edge]:
    return [edge for package in OURS for path in package_files(package) for edge in edges_of_file(path)]


class TestDependencyDirection:
    def test_every_package_respects_the_direction(self, project_edges: list[Edge]) -> None:
        assert violations(project_edges) == []

    def test_crypto_and_storage_do_not_import_each_other(self, project_edges: list[Edge]) -> None:
        crossing = [
            e
            for e in project_edges
            if {e.source_package, e.target_package} == {"crypto", "storage"} and e.source_package != e.target_package
        ]
        assert crossing == []

    def test_only_api_and_the_pages_import_litestar(self, project_edges: list[Edge]) -> None:
        importers = {e.source_package for e in project_edges if e.target_package == "litestar"}
        assert importers <= {"api", "web"}

    def test_the_pages_reach_data_only_through_the_domain_services(self, project_edges: list[Edge]) -> None:
        """No second copy of a rule: the pages never query tables themselves (no repository, no model, no
        SQL), they call the services the API calls."""
        bad = [
            e
            for e in project_edges
            if e.source_package == "web"
            and (e.target.split(".")[-1] in {"repository", "models"} or e.target_package in {"sqlalchemy"})
        ]
        assert bad == []

    def test_nothing_below_the_edge_imports_the_pages(self, project_edges: list[Edge]) -> None:
        importers = {e.source_package for e in project_edges if e.target_package == "web"}
        assert importers <= {"api", "web"}

    def test_only_api_imports_the_backups(self, project_edges: list[Edge]) -> None:
        importers = {e.source_package for e in project_edges if e.target_package == "backup"}
        assert importers <= {"api", "backup"}

    def test_domain_packages_never_import_api(self, project_edges: list[Edge]) -> None:
        bad = [e for e in project_edges if e.source_package in DOMAIN and e.target_package == "api"]
        assert bad == []

    def test_notify_builds_only_on_crypto_and_storage(self, project_edges: list[Edge]) -> None:
        ours = {e.target_package for e in project_edges if e.source_package == "notify" and e.target_package in OURS}
        assert ours <= ALLOWED_OURS_FOR_NOTIFY


class TestTheScanIsNotVacuous:
    """If the walker found nothing, every rule above would pass: prove it sees the real code."""

    def test_every_existing_package_has_modules(self) -> None:
        for package in ("api", "identity", "notify", "crypto", "storage"):
            assert package_files(package), package

    def test_known_edges_are_seen(self, project_edges: list[Edge]) -> None:
        pairs = {(e.source_package, e.target_package) for e in project_edges}
        assert {("api", "identity"), ("api", "litestar"), ("identity", "crypto"), ("notify", "storage")} <= pairs

    def test_imports_inside_functions_are_seen(self, project_edges: list[Edge]) -> None:
        # api/cli.py imports the models inside `_models_metadata`.
        assert any(e.module == "api.cli" and e.target == "identity.models" for e in project_edges)


class TestChecker:
    """The checker itself, on synthetic modules: each rule must flag a breach."""

    @staticmethod
    def check(source: str, module: str, *, is_package: bool = False) -> list[str]:
        return violations(list(imports_of(source, module, is_package=is_package)))

    def test_crypto_importing_api_is_flagged(self) -> None:
        assert self.check("import api.app\n", "crypto.fake")

    @pytest.mark.parametrize(
        ("source", "module"),
        [
            ("from api.app import create_app\n", "crypto.fake"),
            ("from api import app\n", "storage.fake"),
            ("import identity.models\n", "storage.blobs.fake"),
            ("from storage.db import transaction\n", "crypto.fake"),
            ("import crypto.aead\n", "storage.fake"),
            ("from api.errors import problem\n", "identity.fake"),
            ("import consent.service\n", "wallet.fake"),
            ("from wallet import service\n", "identity.fake"),
            ("from consent.models import Consent\n", "identity.fake"),
            ("import identity.errors\n", "notify.fake"),
            ("import litestar\n", "identity.fake"),
            ("from litestar.status_codes import HTTP_200_OK\n", "notify.fake"),
            ("def f():\n    import api.app\n", "wallet.fake"),
            ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import api.deps\n", "consent.fake"),
            ("import importlib\nimportlib.import_module('api.app')\n", "crypto.fake"),
            ("from identity.models import Citizen\n", "audit.fake"),
            ("import wallet.service\n", "audit.fake"),
            ("from consent import service\n", "audit.fake"),
            ("import api.app\n", "audit.fake"),
            ("import audit.models\n", "storage.fake"),
        ],
    )
    def test_breach_is_flagged(self, source: str, module: str) -> None:
        assert self.check(source, module)

    @pytest.mark.parametrize(
        ("source", "module"),
        [
            ("import api.app\nimport litestar\n", "api.fake"),
            ("from crypto.aead import seal\nfrom storage.db import transaction\n", "notify.fake"),
            ("from wallet.service import WalletService\n", "consent.fake"),
            ("from audit.service import AuditService\n", "identity.fake"),
            ("from crypto.tokens import TokenSigner\nfrom storage.types import new_id\n", "audit.fake"),
            ("from .aead import seal\n", "crypto.fake"),
            ("from . import keys\n", "crypto.fake"),
            # resolved against the package: identity.api, not the top-level api package
            ("from .api import something\n", "identity.fake"),
            ("from ..api import something\n", "storage.blobs.fake"),
            ("import sqlalchemy\nfrom alembic import op\n", "storage.migrations.versions.fake"),
        ],
    )
    def test_allowed_import_is_not_flagged(self, source: str, module: str) -> None:
        assert self.check(source, module) == []

    def test_relative_import_in_a_package_init_resolves_to_the_package(self) -> None:
        edges = list(imports_of("from .blobs import base\n", "storage", is_package=True))
        assert {e.target for e in edges} == {"storage.blobs", "storage.blobs.base"}

    def test_relative_import_above_the_top_level_is_an_error(self) -> None:
        with pytest.raises(UnresolvableImport):
            list(imports_of("from .. import api\n", "crypto.fake"))

    def test_a_file_on_disk_is_read_and_named_from_its_path(self, tmp_path: Path) -> None:
        module = tmp_path / "crypto" / "sub" / "fake.py"
        module.parent.mkdir(parents=True)
        module.write_text("import api.app\nfrom ..keys import x\n", encoding="utf-8")
        edges = edges_of_file(module, tmp_path)
        assert {e.module for e in edges} == {"crypto.sub.fake"}
        assert "crypto.keys" in {e.target for e in edges}
        assert violations(edges) == ["crypto.sub.fake:1 imports api.app (crypto must not import api)"]
