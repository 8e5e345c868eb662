"""Faults under load on the stack: citizens registering, storing and reading papers, granting consents and
submitting dossiers through the load balancer while a worker is killed, PostgreSQL restarts, a volume server stops
and the blob store's disk fills. After each fault: no orphan blob, no row pointing at nothing, every acknowledged write
readable byte-exact, every SMS delivered exactly once at the gateway; the error rate of each fault is reported.

`make test` runs the bounded campaign (a killed worker and a PostgreSQL restart, short load); `make test-stack`
(STACK_TESTS=full) all four faults with longer load."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from stack.supervisor import destroy
from tests.factories import e164, make_phone
from tests.stack import blob_disk
from tests.stack.conftest import WORKERS, RunningStack
from tests.stack.faults import (
    FILL_DISK,
    KILL_WORKER,
    KILL_WORKER_LEFT_DEAD,
    RESTART_POSTGRES,
    STOP_VOLUME,
    Plan,
    problems,
    run_fault,
    table,
)
from tests.stack.integrity import Operator
from tests.stack.load import PROCEDURE, Counterparts, Load
from tests.stack.sms_gateway import SmsGateway
from tests.web.server import free_port

FULL = os.environ.get("STACK_TESTS") == "full"
GETS = {"qr", "download", "consent_pull", "consent_pull_file"}  # the journeys' steps that only read
BOUNDED = Plan([RESTART_POSTGRES, KILL_WORKER_LEFT_DEAD], threads=4, before=2, after=2)
CAMPAIGN = Plan([KILL_WORKER, RESTART_POSTGRES, STOP_VOLUME, FILL_DISK], threads=6, before=8, after=10)

pytestmark = [pytest.mark.stack, pytest.mark.timeout(900 if FULL else 240)]


@pytest.fixture
def gateway() -> Iterator[SmsGateway]:
    with SmsGateway() as running:
        yield running


@pytest.fixture
def loaded_stack(gateway: SmsGateway, tmp_path: Path) -> Iterator[tuple[RunningStack, bool]]:
    """A stack whose workers send SMS to `gateway`; in the full campaign, on root, its volume servers on small
    loop-mounted disks (the fill-the-disk fault needs them; elsewhere that fault is left out)."""
    work = Path(tempfile.mkdtemp(prefix="cds-faults-"))
    running = RunningStack(work / "data", free_port(), gateway.settings())
    with ExitStack() as cleanup:
        disks = FULL and blob_disk.available()
        if disks:
            folders = [running.layout.seaweed_dir / f"weed-volume-{n}" for n in (1, 2)]
            cleanup.enter_context(blob_disk.small_disks(folders, work))
        answer = running.run("up", "--workers", str(WORKERS), "--port", str(running.port))
        try:
            assert answer.returncode == 0, answer.stdout + answer.stderr
            yield running, disks
        finally:
            if running.layout.logs.exists():  # each process's log, kept beside faults.json
                shutil.copytree(running.layout.logs, tmp_path / "logs", dirs_exist_ok=True)
            if running.layout.state_file.exists():
                destroy(running.layout)
    shutil.rmtree(work, ignore_errors=True)


class TestFaultsUnderLoad:
    def test_every_acknowledged_write_survives_each_fault(
        self,
        loaded_stack: tuple[RunningStack, bool],
        gateway: SmsGateway,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        running, disks = loaded_stack
        plan = CAMPAIGN if FULL else BOUNDED
        if FULL and not disks:
            plan = Plan([f for f in plan.faults if f is not FILL_DISK], plan.threads, plan.before, plan.after)
        operator = Operator(running)
        try:
            load = Load(running.base_url, gateway, counterparts(running, operator, gateway), threads=plan.threads)
            results = []
            for fault in plan.faults:
                # a fresh 15-minute session per round
                load.counterparts.officer_token = officer_token(running, operator, gateway)
                results.append(run_fault(running, operator, load, fault, plan))
        finally:
            operator.close()
        report = {"full": FULL, "threads": plan.threads, "results": results}
        (tmp_path / "faults.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
        with capsys.disabled():
            print(f"\nfaults under load ({plan.threads} journeys at a time; {tmp_path / 'faults.json'}):")
            print(table(results))
        found = [line for result in results for line in problems(result)]
        assert found == [], "\n".join(found)
        for result in results:
            # The load did real work around each fault, and the service came back: nothing fails once recovered.
            assert result["before"]["requests"] > 20 and result["after"]["requests"] > 20, result
            assert result["before"]["errors"] == 0, result
        # A killed worker costs no read: the balancer sends a GET its worker died on to the other one.
        killed = next(result for result in results if result["fault"].startswith("kill"))
        assert [what for what in killed["during"]["failed"] if what.split()[0] in GETS] == [], killed["during"]
        acked = results[-1]["checks"]["acknowledged"]
        assert (
            acked["papers_acknowledged"] > 0
            and acked["consents_acknowledged"] > 0
            and acked["dossiers_acknowledged"] > 0
        )


AGENCY = "LOAD-CA"
OFFICER_PIN = "135790"


def counterparts(running: RunningStack, operator: Operator, gateway: SmsGateway) -> Counterparts:
    client_id, secret = operator.create_agency(AGENCY, "Công an (tải thử)", ("consent:request", "consent:read"))
    with httpx.Client(base_url=f"{running.base_url}/api/v1", timeout=30) as client:
        procedure = client.get(f"/procedures/{PROCEDURE}").json()
    return Counterparts(officer_token(running, operator, gateway), client_id, secret, procedure)


def officer_token(running: RunningStack, operator: Operator, gateway: SmsGateway) -> str:
    """A new counter officer of the agency, signed in by phone, PIN and the SMS code the gateway received."""
    phone = make_phone()
    operator.create_officer(phone=phone, name="Trần Thị Bích", agency=AGENCY, pin=OFFICER_PIN)
    with httpx.Client(base_url=f"{running.base_url}/api/v1", timeout=30) as client:
        asked = time.monotonic()
        challenge = client.post("/auth/login", json={"phone": phone, "pin": OFFICER_PIN})
        assert challenge.status_code == 202, challenge.text
        code = gateway.code(e164(phone), after=asked - 1)
        tokens = client.post("/auth/otp/verify", json={"challenge_id": challenge.json()["challenge_id"], "code": code})
        assert tokens.status_code == 200, tokens.text
        return str(tokens.json()["access_token"])
