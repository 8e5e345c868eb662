"""The production topology as local processes on one machine (`python -m stack up|down|status`, `make stack-up`).

PostgreSQL behind PgBouncer (transaction pooling), a SeaweedFS cluster (a master, two volume servers holding each
volume twice, a filer and its S3 gateway), `WALLET_WORKERS` app workers (`congdanso serve`, one process each) and
HAProxy in front of them on `WALLET_PORT`. Everything it runs, its pids, ports and logs are recorded under
`WALLET_DATA_DIR/stack/`; the settings every `congdanso` command needs to act on this stack are written to
`WALLET_DATA_DIR/settings.env`, which `api.settings.Settings` reads (docs/operations/stack.md).
"""
