"""Fuzzing in CI: the live schema of a real `congdanso serve` process, every operation as each caller its policy
admits, a few derandomised examples each (valid and invalid), and the schema's create → read links. Any 5xx,
undocumented status, or body or content type the schema does not describe fails, listed by operation."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.fuzz.harness import Campaign
from tests.fuzz.world import build_world
from tests.serve_process import ServeProcess

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))


@pytest.fixture(scope="module")
def server() -> Iterator[ServeProcess]:
    with ServeProcess() as process:
        yield process


@pytest.mark.timeout(600)
def test_every_operation_answers_as_its_schema_says(server: ServeProcess) -> None:
    campaign = Campaign(server.base_url, build_world(server), examples=EXAMPLES)
    figures = campaign.run()
    print(figures.summary())
    assert figures.operations >= 60, figures.summary()
    assert not figures.findings, "\n".join(sorted({str(f) for f in figures.findings}))
