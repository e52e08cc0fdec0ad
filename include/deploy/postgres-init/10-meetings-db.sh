#!/bin/sh
# Creates the meetings database and its owner next to Airflow's metadata database.
# Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d) and natively
# by the cluster check. Needs POSTGRES_USER, POSTGRES_DB, MEETINGS_DB, MEETINGS_DB_USER,
# MEETINGS_DB_PASSWORD (no quotes in the password).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<EOSQL
CREATE USER "$MEETINGS_DB_USER" WITH PASSWORD '$MEETINGS_DB_PASSWORD';
CREATE DATABASE "$MEETINGS_DB" OWNER "$MEETINGS_DB_USER";
EOSQL
