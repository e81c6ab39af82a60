#!/usr/bin/env bash
# Start the services the tests talk to when none answers, installing them from Debian's
# packages when they are missing. Called by `make test`; safe to run again.
set -euo pipefail

REDIS_PORT="${REDIS_PORT:-6379}"
MQTT_PORT="${MQTT_PORT:-1883}"
PG_PORT="${PG_PORT:-5432}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_updated=""

log() { printf 'services: %s\n' "$*"; }

answers() {  # answers PORT: true when something listens on 127.0.0.1:PORT
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for() {  # wait_for PORT NAME
    for _ in $(seq 1 50); do
        answers "$1" && return 0
        sleep 0.1
    done
    log "$2 did not start on 127.0.0.1:$1"
    return 1
}

apt_install() {  # apt_install PACKAGE... (only those missing)
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null; then
        log "install ${missing[*]} with your package manager"
        return 1
    fi
    if [ -z "$apt_updated" ]; then
        $SUDO apt-get update -qq
        apt_updated=1
    fi
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if answers "$REDIS_PORT"; then
    log "redis answers on 127.0.0.1:$REDIS_PORT"
else
    command -v redis-server >/dev/null || apt_install redis-server
    mkdir -p /tmp/gateway-redis
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" \
        --appendonly no --dir /tmp/gateway-redis --logfile /tmp/gateway-redis/redis.log
    wait_for "$REDIS_PORT" redis && log "started redis on 127.0.0.1:$REDIS_PORT"
fi

if answers "$MQTT_PORT"; then
    log "mosquitto answers on 127.0.0.1:$MQTT_PORT"
else
    command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || apt_install mosquitto
    conf=/tmp/gateway-mosquitto.conf
    printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$MQTT_PORT" >"$conf"
    /usr/sbin/mosquitto -d -c "$conf"
    wait_for "$MQTT_PORT" mosquitto && log "started mosquitto on 127.0.0.1:$MQTT_PORT"
fi

# PostgreSQL for the deployment tests (tests/integration/deploy): user postgres, trust auth on
# 127.0.0.1, as those tests create and drop their own databases. A machine that already runs
# one is used as it is.
if answers "$PG_PORT"; then
    log "postgresql answers on 127.0.0.1:$PG_PORT"
else
    apt_install postgresql
    bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    pgdir="/tmp/gateway-postgres-$PG_PORT"
    as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
    if [ ! -s "$pgdir/data/PG_VERSION" ]; then
        $SUDO install -d -o postgres -g postgres "$pgdir"
        as_postgres "$bindir/initdb" -D "$pgdir/data" -U postgres -A trust >/dev/null
    fi
    as_postgres "$bindir/pg_ctl" -D "$pgdir/data" -l "$pgdir/postgres.log" -w \
        -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $pgdir" start >/dev/null
    wait_for "$PG_PORT" postgresql && log "started postgresql on 127.0.0.1:$PG_PORT"
fi

# Tools the tests drive directly: private redis-servers (cluster, restarts, TLS), a private
# Mosquitto with TLS (openssl makes its certificates), Direwolf (the radio operator's station)
# and headless Chromium. Needed even where the shared services run elsewhere (a container).
{ command -v redis-server >/dev/null && command -v redis-cli >/dev/null; } || apt_install redis-server
{ command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ]; } || apt_install mosquitto
command -v openssl >/dev/null || apt_install openssl
command -v direwolf >/dev/null || apt_install direwolf
{ command -v chromium >/dev/null && command -v chromedriver >/dev/null; } ||
    apt_install chromium chromium-driver
