# PgBouncer from Debian, as `make stack-up` runs it (1.18 in bookworm).
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends pgbouncer && rm -rf /var/lib/apt/lists/*
# The auth file is written at start from WALLET_DB_PASSWORD, readable by the pgbouncer user only.
CMD ["sh", "-c", "umask 077 && printf '\"wallet\" \"%s\"\\n' \"$WALLET_DB_PASSWORD\" > /etc/pgbouncer/userlist.txt && chown postgres /etc/pgbouncer/userlist.txt && exec runuser -u postgres -- pgbouncer /etc/pgbouncer/pgbouncer.ini"]
