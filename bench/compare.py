"""`make bench-compare BASE=<commit>`: the same benchmarks on an older commit and on this tree, one after the other on
the same machine, and every figure side by side.

The older commit's code is exported to a temporary folder and run with this tree's `bench/` (so both sides are
measured the same way; a figure whose code the older commit lacks is simply absent there) and this environment's
packages, with `PYTHONPATH` pointing at the export so its servers and commands import the old code. The figures go
to `bench/results-base.json` and `bench/results.json`, and the table (figure, base, this tree, ratio) to
`bench/compare.md`, all git-ignored.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
BASE_RESULTS = ROOT / "bench" / "results-base.json"
TABLE = ROOT / "bench" / "compare.md"
# Built files the export lacks (git-ignored): the compiled catalogs and the vendored Swagger UI.
BUILT = ("web/locales", "web/static/vendor")


def export(commit: str, into: Path) -> None:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    for built in BUILT:
        shutil.copytree(ROOT / built, into / built, dirs_exist_ok=True)
    shutil.rmtree(into / "bench")
    shutil.copytree(ROOT / "bench", into / "bench", ignore=shutil.ignore_patterns("results*.json", "__pycache__"))
    subprocess.run([sys.executable, "-m", "web.i18n", "compile"], cwd=into, check=True, capture_output=True)


def run_bench(tree: Path, modules: list[str]) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-m", "bench", *modules]
    subprocess.run(command, cwd=tree, env=env, check=True)
    figures: dict[str, float] = json.loads((tree / "bench" / "results.json").read_text())
    return figures


def table(base: dict[str, float], head: dict[str, float], commit: str) -> str:
    lines = [f"| figure | {commit[:10]} | this tree | ratio |", "|---|---:|---:|---:|"]
    for name in sorted(set(base) | set(head)):
        old, new = base.get(name), head.get(name)
        ratio = f"{new / old:.2f}" if old and new is not None else ""
        lines.append(f"| `{name}` | {_figure(old)} | {_figure(new)} | {ratio} |")
    return "\n".join(lines) + "\n"


def _figure(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the older commit")
    parser.add_argument("modules", nargs="*", help="only these benchmark modules (default: all)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-base-") as folder:
        tree = Path(folder)
        export(args.base, tree)
        print(f"== {args.base}: exported to {tree}", flush=True)
        base = run_bench(tree, args.modules)
    BASE_RESULTS.write_text(json.dumps(base, indent=2, sort_keys=True) + "\n")
    print("== this tree", flush=True)
    head = run_bench(ROOT, args.modules)
    TABLE.write_text(table(base, head, args.base))
    print(f"figures in {BASE_RESULTS} and {RESULTS}; the table in {TABLE}")


if __name__ == "__main__":
    main()
