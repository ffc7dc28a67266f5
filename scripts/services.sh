#!/usr/bin/env bash
# Make a Debian/Ubuntu machine ready for the tests and the demo: install and start PostgreSQL,
# MariaDB and Redis (the Celery tests' broker) when missing or stopped, create the role and databases the project uses, and keep a
# virtualenv in .venv installed from pyproject.toml. Idempotent, and quick when nothing changed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
DB_USER=s2kit
DB_PASSWORD=s2kit
SUDO=""
AS_POSTGRES=(runuser -u postgres --)
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; AS_POSTGRES=(sudo -u postgres); fi

log() { echo "services: $*" >&2; }

install_packages() {
    local missing=()
    command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
    [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
    command -v mariadb >/dev/null 2>&1 || missing+=(mariadb-client)
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    dpkg -s libmariadb-dev >/dev/null 2>&1 || missing+=(libmariadb-dev)
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    [ -d /usr/share/zoneinfo ] || missing+=(tzdata)
    command -v gcc >/dev/null 2>&1 || missing+=(gcc)
    "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
    "$PYTHON" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
        || missing+=(python3-dev)
    [ ${#missing[@]} -eq 0 ] && return
    log "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    # Package scripts must not try to start services through an init system we may not have.
    DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >&2
}

start_postgresql() {
    pg_isready -q -h 127.0.0.1 -p 5432 && return
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    log "starting PostgreSQL $version"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && return; sleep 0.2; done
    log "PostgreSQL did not start"; exit 1
}

mariadb_up() { mariadb-admin --protocol=socket -uroot ping >/dev/null 2>&1 \
    || mariadb-admin -h127.0.0.1 -P3306 -uroot ping >/dev/null 2>&1; }

start_mariadb() {
    mariadb_up && return
    log "starting MariaDB"
    $SUDO install -d -o mysql -g mysql /run/mysqld
    $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
    for _ in $(seq 100); do mariadb_up && return; sleep 0.2; done
    log "MariaDB did not start"; exit 1
}

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

# Some machines already run one on 127.0.0.1:6379; else a throwaway one: no persistence.
start_redis() {
    redis_up && return
    log "starting Redis"
    redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save "" --appendonly no \
        --dir "${TMPDIR:-/tmp}" --logfile "${TMPDIR:-/tmp}/s2kit-redis.log"
    for _ in $(seq 50); do redis_up && return; sleep 0.1; done
    log "Redis did not start"; exit 1
}

# Statements run as the servers' superusers, over the local socket where peer auth is the default.
pg_admin() { "${AS_POSTGRES[@]}" psql -qAtX -v ON_ERROR_STOP=1 "$@" 2>/dev/null \
    || psql -h 127.0.0.1 -U postgres -qAtX -v ON_ERROR_STOP=1 "$@"; }
my_admin() { $SUDO mariadb --protocol=socket -uroot "$@" 2>/dev/null || mariadb -h127.0.0.1 -uroot "$@"; }

create_roles() {
    if [ "$(pg_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")" != 1 ]; then
        log "creating PostgreSQL role $DB_USER"
        pg_admin -c "CREATE ROLE $DB_USER LOGIN SUPERUSER PASSWORD '$DB_PASSWORD'"
    fi
    if [ "$(pg_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB_USER'")" != 1 ]; then
        pg_admin -c "CREATE DATABASE $DB_USER OWNER $DB_USER"
    fi
    if [ "$(my_admin -N -e "SELECT COUNT(*) FROM mysql.user WHERE user = '$DB_USER'")" != 2 ]; then
        log "creating MariaDB user $DB_USER"
        for host in localhost 127.0.0.1; do
            my_admin -e "CREATE USER IF NOT EXISTS '$DB_USER'@'$host' IDENTIFIED BY '$DB_PASSWORD';
                         GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'$host' WITH GRANT OPTION;"
        done
    fi
    my_admin -e "CREATE DATABASE IF NOT EXISTS $DB_USER CHARACTER SET utf8mb4"
    # Named time zones (CONVERT_TZ with 'UTC', Django's tz lookups) need MariaDB's zone tables.
    if [ "$(my_admin -N -e "SELECT COUNT(*) > 0 FROM mysql.time_zone_name")" != 1 ]; then
        log "loading MariaDB time zone tables"
        mariadb-tzinfo-to-sql /usr/share/zoneinfo 2>/dev/null | my_admin mysql
    fi
    # The emulator opens a backend connection per client; 151 is tight for a suite plus a demo.
    my_admin -e "SET GLOBAL max_connections = GREATEST(@@max_connections, 500)"
}

install_venv() {
    local stamp="$VENV/.s2kit-installed" want
    want=$(sha256sum < "$ROOT/pyproject.toml" | cut -d' ' -f1)
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return
    log "installing the project into $VENV"
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    if ! { "$VENV/bin/pip" install --upgrade pip && "$VENV/bin/pip" install -e "$ROOT[test,bench]"; } \
        > "$VENV/pip.log" 2>&1; then
        cat "$VENV/pip.log" >&2; log "pip install failed"; exit 1
    fi
    echo "$want" > "$stamp"
}

install_packages
start_postgresql
start_mariadb
start_redis
create_roles
install_venv
