"""One way to own a transaction: a request's work runs in its unit of work (`api/unit.py`); the only modules that open
a transaction of their own (`storage.db.transaction`) are those `OWN_TRANSACTIONS` names, each with its reason."""

from __future__ import annotations

import ast
from pathlib import Path

from api.unit import OWN_TRANSACTIONS

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "web", "wallet", "consent", "identity", "forms", "audit", "assurance", "notify", "crypto", "storage")


def opens_transactions(source: str) -> bool:
    """Whether the module calls `transaction(...)` (imported from `storage.db`, under any alias) or `db.transaction`."""
    tree = ast.parse(source)
    names = {"transaction"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "storage.db":
            names |= {alias.asname or alias.name for alias in node.names if alias.name == "transaction"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in names:
                return True
            if isinstance(func, ast.Attribute) and func.attr == "transaction" and isinstance(func.value, ast.Name):
                return func.value.id == "db"
    return False


def modules_opening_transactions() -> set[str]:
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if relative != "storage/db.py" and opens_transactions(path.read_text(encoding="utf-8")):
                found.add(relative)
    return found


def test_only_the_named_modules_open_transactions_of_their_own() -> None:
    unnamed = modules_opening_transactions() - set(OWN_TRANSACTIONS)
    assert not unnamed, f"run these in the request's unit, or name them with a reason in OWN_TRANSACTIONS: {unnamed}"


def test_every_named_module_still_opens_one() -> None:
    stale = set(OWN_TRANSACTIONS) - modules_opening_transactions()
    assert not stale, f"no longer open a transaction of their own: {stale}"


def test_every_reason_is_given() -> None:
    assert all(len(reason) > 40 for reason in OWN_TRANSACTIONS.values())


def test_a_controller_opening_its_own_is_seen() -> None:
    source = (
        "from storage.db import transaction as tx\n"
        "def handler(engine):\n"
        "    with tx(engine) as session:\n"
        "        return session\n"
    )
    assert opens_transactions(source)
    assert opens_transactions("from storage import db\ndef f(e):\n    with db.transaction(e):\n        pass\n")
    assert not opens_transactions("def f(unit):\n    return unit.session\n")
