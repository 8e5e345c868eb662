#!/bin/sh
# First start of the cluster only (docker-entrypoint-initdb.d): the app's role and its two databases, the wallet's and
# the citizen key store's (kept apart so that a backup of one holds no keys).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" -v pw="$WALLET_DB_PASSWORD" <<'SQL'
CREATE ROLE wallet LOGIN PASSWORD :'pw';
CREATE DATABASE wallet OWNER wallet;
CREATE DATABASE wallet_keys OWNER wallet;
SQL
