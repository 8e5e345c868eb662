"""The integration tests marked `e2e`, over HTTP through a running stack's load balancer (`make test-stack-e2e`):
`python -m tests.stack.e2e [pytest arguments]` brings a stack up in a temporary data folder, runs them against it
(tests/integration/conftest.py's end-to-end mode) and destroys the stack, whatever the outcome. A bounded slice of
them runs in `make test` within tests/stack/test_stack.py's stack (`run_e2e`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from stack.supervisor import destroy
from tests.stack.conftest import WORKERS, RunningStack
from tests.web.server import REPO, free_port

# The slice `make test` runs (a sign-up, a login with its SMS code, a paper stored and read back, a consent pulled),
# named by node id so that only their files are collected: about 10 s here.
QUICK = (
    "tests/integration/test_registration.py::TestRegister::test_verified_registration_gives_tokens_and_a_profile",
    "tests/integration/test_login_otp.py::TestLogin::test_pin_then_sms_code_gives_tokens",
    "tests/integration/test_wallet_api.py::TestGetDocument::test_reads_back_what_was_created_and_nothing_else",
    "tests/integration/test_consent.py::TestPull::test_files_of_an_unrestricted_paper_stream",
)


def e2e_command(running: RunningStack, *pytest_args: str) -> tuple[list[str], dict[str, str]]:
    """pytest in end-to-end mode against `running` (over tests/integration unless `pytest_args` name tests), and its
    environment."""
    env = running.env() | {"WALLET_TEST_BASE_URL": running.base_url, "WALLET_TEST_DATA_DIR": str(running.data_dir)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "e2e"]
    named = any(arg.startswith("tests/") for arg in pytest_args)
    return [*command, *pytest_args, *([] if named else ["tests/integration"])], env


def run_e2e(running: RunningStack, *pytest_args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    command, env = e2e_command(running, *pytest_args)
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=timeout)


def main(argv: Sequence[str]) -> int:
    running = RunningStack(Path(tempfile.mkdtemp(prefix="cds-e2e-")) / "data", free_port())
    try:
        started = running.run("up", "--workers", str(WORKERS), "--port", str(running.port))
        print(started.stdout + started.stderr, flush=True)
        if started.returncode != 0:
            return started.returncode
        command, env = e2e_command(running, *argv)
        return subprocess.run(command, cwd=REPO, env=env, check=False).returncode
    finally:
        if running.layout.state_file.exists():
            destroy(running.layout)
        shutil.rmtree(running.data_dir.parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
