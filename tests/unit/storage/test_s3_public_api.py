"""The S3 store speaks to the `minio` SDK only through its public API: a private member may change in any release
(the dependency is bounded below the next major version, not pinned)."""

from __future__ import annotations

import ast
from pathlib import Path

import storage.blobs.s3 as s3_module

SOURCE = Path(s3_module.__file__)


def private_uses(source: str) -> list[str]:
    """`x._name` where `x` is not `self`/`cls` (the store's own state): a reach into someone else's internals."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or node.attr.startswith("__"):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in {"self", "cls"}:
            continue
        found.append(f"{ast.unparse(node)} (line {node.lineno})")
    return found


def test_the_s3_store_uses_no_private_member_of_another_object() -> None:
    assert private_uses(SOURCE.read_text(encoding="utf-8")) == []


def test_the_check_sees_a_private_sdk_call() -> None:
    assert private_uses("self._client._put_object(bucket, key, data)\n") == ["self._client._put_object (line 1)"]
