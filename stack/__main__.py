"""`python -m stack up|down|status|stop|start|destroy|render-deploy` on `WALLET_DATA_DIR` (the `stack-*` targets)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from stack.configs import deploy_configs
from stack.layout import Layout
from stack.processes import StackError
from stack.single import start_one, stop_one
from stack.status import render, status
from stack.supervisor import destroy, down, up

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stack", description="the production topology, as local processes")
    # Not ./data, `make serve`'s: its settings.env would turn every command run from the checkout (the tests' too)
    # towards the stack.
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("WALLET_DATA_DIR", "./stack-data"),
        help="default: WALLET_DATA_DIR, else ./stack-data",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start PostgreSQL, PgBouncer, SeaweedFS, the workers and HAProxy")
    start.add_argument("--workers", type=int, default=int(os.environ.get("WALLET_WORKERS", "2")))
    start.add_argument("--port", type=int, default=int(os.environ.get("WALLET_PORT", "8000")), help="load balancer")
    commands.add_parser("down", help="stop every process; the data stays")
    show = commands.add_parser("status", help="each process, its pid, port and health (exit 1 if any is not up)")
    show.add_argument("--json", action="store_true")
    commands.add_parser("destroy", help="stop every process and delete the stack's data, keys included")
    for verb, what in (("stop", "stop one process, the rest left running"), ("start", "start one stopped process")):
        one = commands.add_parser(verb, help=what)
        one.add_argument("name", help="a process as `status` lists it: postgres, weed-volume-1, app-2…")
    commands.add_parser("render-deploy", help="write deploy/'s HAProxy and PgBouncer files from stack.configs")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(0o077)  # what the stack writes (state, settings, logs) is for its own user only
    args = _parser().parse_args(argv)
    layout = Layout.of(args.data_dir)
    try:
        if args.command == "up":
            if args.workers < 1:
                raise StackError("--workers must be at least 1")
            state = up(layout, workers=args.workers, port=args.port)
            url = f"http://127.0.0.1:{state.ports['haproxy']}"
            print(f"stack up: {url} ({args.workers} workers), data in {layout.data_dir}")
            print(render(status(layout)))
        elif args.command == "down":
            stopped = down(layout)
            print(f"stopped: {', '.join(stopped) or 'nothing was running'}; data kept in {layout.data_dir}")
        elif args.command == "stop":
            stop_one(layout, args.name)
            print(f"stopped {args.name}")
        elif args.command == "start":
            start_one(layout, args.name)
            print(f"started {args.name}")
        elif args.command == "render-deploy":
            for name, text in deploy_configs().items():
                (DEPLOY / name).write_text(text)
                print(f"wrote deploy/{name}")
        elif args.command == "destroy":
            destroy(layout)
            print(f"destroyed: {layout.data_dir} and {layout.pg_root}")
        else:
            rows = status(layout)
            print(json.dumps([asdict(row) for row in rows]) if args.json else render(rows))
            return 0 if rows and all(row.health == "up" for row in rows) else 1
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
