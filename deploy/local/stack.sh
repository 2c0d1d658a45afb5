#!/usr/bin/env bash
# The whole Parley system on this machine, without Docker: Kafka and PostgreSQL from
# deploy/local/infra.sh, the schema migrated, then the ingest, projector, API and webhook worker
# as processes.
#
#   deploy/local/stack.sh up     start everything in the background, wait until ready
#   deploy/local/stack.sh run    the same in the foreground; Ctrl-C stops all of it
#   deploy/local/stack.sh down   stop everything (data is kept in .parley/stack)
#   deploy/local/stack.sh status
# Ports: PARLEY_API_PORT (8000), PARLEY_INGEST_PORT (8001), PARLEY_PROJECTOR_PORT (8002),
# PARLEY_WEBHOOKS_PORT (8003), PARLEY_KAFKA_PORT (9092), PARLEY_PG_PORT (5433); state in
# PARLEY_STACK_DIR (.parley/stack).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${PARLEY_STACK_DIR:-$ROOT/.parley/stack}"
PY="${PARLEY_PYTHON:-$ROOT/.venv/bin/python}"
INFRA="$ROOT/deploy/local/infra.sh"
SERVICES=(ingest projector api webhooks)
declare -A PORTS=(
  [ingest]="${PARLEY_INGEST_PORT:-8001}"
  [projector]="${PARLEY_PROJECTOR_PORT:-8002}"
  [api]="${PARLEY_API_PORT:-8000}"
  [webhooks]="${PARLEY_WEBHOOKS_PORT:-8003}"
)
INFRA_PORTS=()
[[ -n "${PARLEY_KAFKA_PORT:-}" ]] && INFRA_PORTS+=(--kafka-port "$PARLEY_KAFKA_PORT")
[[ -n "${PARLEY_PG_PORT:-}" ]] && INFRA_PORTS+=(--pg-port "$PARLEY_PG_PORT")
cd "$ROOT"

say() { printf '[stack] %s\n' "$*" >&2; }
pidfile() { echo "$DIR/$1.pid"; }
alive() { [[ -f "$(pidfile "$1")" ]] && kill -0 "$(cat "$(pidfile "$1")")" 2>/dev/null; }

wait_ready() {
  local name=$1 url="http://127.0.0.1:${PORTS[$1]}/readyz" deadline=$((SECONDS + 90))
  until "$PY" -c "import urllib.request,sys; urllib.request.urlopen('$url', timeout=2)" 2>/dev/null; do
    if ! alive "$name"; then
      say "$name exited; last lines of $DIR/logs/$name.log:"; tail -n 30 "$DIR/logs/$name.log" >&2; return 1
    fi
    if ((SECONDS > deadline)); then
      say "$name not ready after 90s; last lines of $DIR/logs/$name.log:"; tail -n 30 "$DIR/logs/$name.log" >&2; return 1
    fi
    sleep 0.5
  done
  say "$name ready on http://127.0.0.1:${PORTS[$name]}"
}

up() {
  [[ -x "$PY" ]] || { say "no virtual environment at $ROOT/.venv: run 'make venv' first"; exit 1; }
  bash "$INFRA" up --dir "$DIR" "${INFRA_PORTS[@]}"
  eval "$(bash "$INFRA" env --dir "$DIR")"
  export PARLEY_KAFKA_BOOTSTRAP_SERVERS PARLEY_DATABASE_URL
  if [[ -z "${PARLEY_BOOTSTRAP_KEY:-}" ]]; then  # a dev key holding every scope, kept with the data
    [[ -s "$DIR/bootstrap-key" ]] || "$PY" -c 'import secrets; print("dev-" + secrets.token_urlsafe(24))' >"$DIR/bootstrap-key"
    PARLEY_BOOTSTRAP_KEY=$(cat "$DIR/bootstrap-key")
  fi
  export PARLEY_BOOTSTRAP_KEY
  mkdir -p "$DIR/logs"
  say "migrating the database schema"
  "$PY" -m services.projector migrate
  for name in "${SERVICES[@]}"; do
    if alive "$name"; then say "$name already running (pid $(cat "$(pidfile "$name")"))"; continue; fi
    PARLEY_HTTP_PORT="${PORTS[$name]}" nohup "$PY" -m "services.$name" \
      </dev/null >>"$DIR/logs/$name.log" 2>&1 &
    echo $! >"$(pidfile "$name")"
    say "started $name (pid $(cat "$(pidfile "$name")"), log $DIR/logs/$name.log)"
  done
  for name in "${SERVICES[@]}"; do wait_ready "$name"; done
  if [[ "${PARLEY_EXAMPLE:-1}" == 1 && ! -f "$DIR/example-loaded" ]]; then
    say "first start: loading examples/abu-dhabi-2026.jsonl (PARLEY_EXAMPLE=0 skips it)"
    PARLEY_API_KEY=$PARLEY_BOOTSTRAP_KEY "$ROOT/.venv/bin/parley" load examples/abu-dhabi-2026.jsonl \
      --ingest "http://127.0.0.1:${PORTS[ingest]}" --quiet && touch "$DIR/example-loaded"
  fi
  cat >&2 <<MSG

Parley is running:
  ingest     http://127.0.0.1:${PORTS[ingest]}   POST /v1/events
  page       http://127.0.0.1:${PORTS[api]}/?talks=abu-dhabi-trilateral&as_of=2026-02-05
  api        http://127.0.0.1:${PORTS[api]}   GET  /v1/talks/{talks_id}/state   (docs at /docs)
  projector  http://127.0.0.1:${PORTS[projector]}   /healthz, /readyz
  webhooks   http://127.0.0.1:${PORTS[webhooks]}   /healthz, /readyz   (subscribe: POST api /v1/subscriptions)
  Kafka      $PARLEY_KAFKA_BOOTSTRAP_SERVERS   topic parley.events
  PostgreSQL $PARLEY_DATABASE_URL
  logs       $DIR/logs/  and  $DIR/kafka.log, $DIR/postgres.log
  dev key     $PARLEY_BOOTSTRAP_KEY   (every scope; send it as 'Authorization: Bearer <key>')
              export PARLEY_API_KEY=$PARLEY_BOOTSTRAP_KEY   lets 'parley load' use it
Stop it all with: make stack-down
MSG
}

down() {
  for name in "${SERVICES[@]}"; do
    if alive "$name"; then
      local pid; pid=$(cat "$(pidfile "$name")")
      say "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && { say "$name did not stop in 30s; killing"; kill -KILL "$pid"; }
    fi
    rm -f "$(pidfile "$name")"
  done
  bash "$INFRA" down --dir "$DIR"
}

status() {
  for name in "${SERVICES[@]}"; do
    if alive "$name"; then echo "$name: running (pid $(cat "$(pidfile "$name")"), port ${PORTS[$name]})"
    else echo "$name: stopped"; fi
  done
  bash "$INFRA" status --dir "$DIR"
}

run() {
  local follower=""
  trap 'echo; say "stopping"; [[ -n "$follower" ]] && kill "$follower" 2>/dev/null; down; exit 0' INT TERM
  up
  say "following the services' logs; Ctrl-C stops everything"
  tail -n 0 -F "$DIR"/logs/*.log &
  follower=$!
  wait "$follower"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  run) run ;;
  *) echo "usage: $0 up|run|down|status" >&2; exit 2 ;;
esac
