"""`python -m stack destroy` deletes a stack's data folder, and only that."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack.layout import Layout
from stack.processes import StackError
from stack.supervisor import destroy


class TestDestroy:
    def test_a_folder_without_a_stack_is_never_deleted(self, tmp_path: Path) -> None:
        (tmp_path / "wallet.db").write_bytes(b"a citizen's data")
        with pytest.raises(StackError, match="no stack"):
            destroy(Layout.of(tmp_path))
        assert (tmp_path / "wallet.db").exists()
