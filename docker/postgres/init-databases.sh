#!/usr/bin/env bash
# PostgreSQL's first start (empty data volume) runs this: one role and one database each for the operational
# store (pulse), Airflow's metadata (airflow) and Superset's metadata (superset), with passwords from the
# environment. Later starts skip it: to change a password afterwards, use ALTER ROLE (docs/production.md).
set -euo pipefail

create_role_and_database() {
    local name="$1" password="$2"
    if [ -z "$password" ]; then
        echo "init-databases: no password for role '$name'; set it in .env" >&2
        exit 1
    fi
    # psql variables (:'name', :'password') are quoted by psql itself, so no password can break the SQL.
    psql --set ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        --set name="$name" --set password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'name', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I ENCODING ''UTF8'' TEMPLATE template0', :'name', :'name') \gexec
SQL
}

create_role_and_database pulse "${OPS_DB_PASSWORD:-}"
create_role_and_database airflow "${AIRFLOW_DB_PASSWORD:-}"
create_role_and_database superset "${SUPERSET_DB_PASSWORD:-}"
