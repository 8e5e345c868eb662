"""`make fuzz`: a longer campaign (FUZZ_EXAMPLES examples per operation, caller and mode; 200 by default) against a
real `congdanso serve`, printing every finding and the figures: operations, examples, failures, minutes."""

from __future__ import annotations

import os
import sys

from tests.fuzz.harness import Campaign
from tests.fuzz.world import build_world
from tests.serve_process import ServeProcess


def main() -> int:
    examples = int(os.environ.get("FUZZ_EXAMPLES", "200"))
    with ServeProcess() as server:
        figures = Campaign(server.base_url, build_world(server), examples=examples).run()
    for finding in sorted({str(f) for f in figures.findings}):
        print(finding)
    print(figures.summary())
    return 1 if figures.findings else 0


if __name__ == "__main__":
    sys.exit(main())
