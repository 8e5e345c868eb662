"""Background jobs on PostgreSQL (procrastinate): the periodic upkeep the app workers otherwise run in-process.

An operations package: it calls the domain's own services (the outbox dispatcher, the janitor, the access log's chain
and checkpoints) and is imported only by `api` (the `congdanso jobs` commands and /metrics)."""
