"""`python -m stack destroy` deletes a stack's data folder, and only that; `stop`/`start` of one process refuse what
is not there."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack.layout import Layout, State
from stack.processes import Process, StackError
from stack.single import start_one, stop_one
from stack.supervisor import destroy


class TestDestroy:
    def test_a_folder_without_a_stack_is_never_deleted(self, tmp_path: Path) -> None:
        (tmp_path / "wallet.db").write_bytes(b"a citizen's data")
        with pytest.raises(StackError, match="no stack"):
            destroy(Layout.of(tmp_path))
        assert (tmp_path / "wallet.db").exists()


class TestOneProcess:
    def test_stop_and_start_need_a_running_stack_and_a_known_process(self, tmp_path: Path) -> None:
        with pytest.raises(StackError, match="not running"):
            stop_one(Layout.of(tmp_path), "postgres")
        layout = Layout.of(tmp_path)
        State(processes=[Process("postgres", 1, 0, 5432, "log")], workers=2).save(layout)
        with pytest.raises(StackError, match=r"no process 'app-3'.*app-1, app-2, jobs, haproxy"):
            start_one(layout, "app-3")
