"""Proves the harness works: `python -m bench.selfcheck` serves the baseline app and loads GET /plain for 2 s."""

import asyncio

from bench.harness import ServerProcess, load, record


def main() -> None:
    with ServerProcess("bench.baseline_app:app") as server:
        url = f"{server.base_url}/plain"
        asyncio.run(load(url, concurrency=16, duration=0.5, max_requests=1_000_000))  # warm-up
        result = asyncio.run(load(url, concurrency=16, duration=2.0, max_requests=1_000_000))
        print(result)
        print(f"server pid {server.pid}, peak RSS {server.peak_rss_mb():.1f} MiB")
    if result.errors:
        raise SystemExit(f"{result.errors} errors while loading {url}")
    record({"baseline_plain_rps": result.rps})


if __name__ == "__main__":
    main()
