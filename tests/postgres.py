"""The tests' throwaway PostgreSQL server: `stack.postgres.PostgresServer` with its defaults (a temporary folder,
durability off), shared with the stack that `make stack-up` starts."""

from stack.postgres import PostgresServer, find_bindir, free_port

__all__ = ["PostgresServer", "find_bindir", "free_port"]
