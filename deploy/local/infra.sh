#!/usr/bin/env bash
# Parley local infrastructure without Docker: a real Apache Kafka 4.x broker
# (KRaft, one node that is both broker and controller) and a real PostgreSQL
# cluster, both on 127.0.0.1, with all their state under one directory.
#
#   deploy/local/infra.sh up     [--dir DIR] [--kafka-port N] [--pg-port N]
#   deploy/local/infra.sh down   [--dir DIR] [--purge]
#   deploy/local/infra.sh status [--dir DIR]
#   deploy/local/infra.sh env    [--dir DIR]
#
# DIR defaults to .parley/stack; a relative DIR is taken relative to the
# repository root (found from this script's location), so the script works
# from any working directory. Kafka listens on 127.0.0.1:KAFKA_PORT (default
# 9092) and its KRaft controller on 127.0.0.1:KAFKA_PORT+1; PostgreSQL on
# 127.0.0.1:PG_PORT (default 5433). The ports chosen at `up` are stored in
# DIR/infra.env, so later commands on the same DIR need no port flags.
#
# Needs: Java 17+ and Maven (Kafka's jars come from Maven Central once, into
# .parley/kafka-lib/, shared by every DIR), and the PostgreSQL server binaries.
#
# Progress goes to stderr, prefixed "[infra]". Only `env` and `status` write
# to stdout.
#
# Environment knobs (all optional):
#   PARLEY_INFRA_TIMEOUT   seconds to wait for Kafka / PostgreSQL (default 90)
#   PARLEY_KAFKA_HEAP_OPTS JVM heap options for the broker (default -Xms256m -Xmx512m)
#   PARLEY_KAFKA_LIB       folder of Kafka jars to use instead of the Maven cache
#   PARLEY_PG_BINDIR       folder holding initdb/pg_ctl/postgres/psql
#   PARLEY_PG_SHARED_BUFFERS PostgreSQL's shared_buffers (default 2GB, for a 24 GiB
#                          machine: the state read's indexes, ~1.2 GB at the as-of
#                          benchmark's million events, stay in it; PostgreSQL's own
#                          default is 128MB). Memory is taken as it is used, not at start.
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/../.." && pwd -P)"
KAFKA_POM="$SCRIPT_DIR/kafka/pom.xml"
KAFKA_LOG4J="$SCRIPT_DIR/kafka/log4j2.properties"
KAFKA_TOOLS_LOG4J="$SCRIPT_DIR/kafka/log4j2-tools.properties"
KAFKA_LIB_CACHE="$REPO_ROOT/.parley/kafka-lib"

DEFAULT_DIR=".parley/stack"
DEFAULT_KAFKA_PORT=9092
DEFAULT_PG_PORT=5433
TIMEOUT="${PARLEY_INFRA_TIMEOUT:-90}"
PG_SHARED_BUFFERS="${PARLEY_PG_SHARED_BUFFERS:-2GB}"
KAFKA_STOP_TIMEOUT=30
MARKER=".parley-infra"

log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  cat >&2 <<'EOF'
usage: deploy/local/infra.sh up     [--dir DIR] [--kafka-port N] [--pg-port N]
       deploy/local/infra.sh down   [--dir DIR] [--purge]
       deploy/local/infra.sh status [--dir DIR]
       deploy/local/infra.sh env    [--dir DIR]
EOF
}

# --------------------------------------------------------------------------
# arguments
# --------------------------------------------------------------------------
CMD="${1:-}"
[[ -n "$CMD" ]] || { usage; exit 2; }
shift
case "$CMD" in
  up|down|status|env) ;;
  -h|--help|help) usage; exit 0 ;;
  *) usage; die "unknown command: $CMD" ;;
esac

OPT_DIR=""
OPT_KAFKA_PORT=""
OPT_PG_PORT=""
OPT_PURGE=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) [[ $# -ge 2 ]] || die "--dir needs a value"; OPT_DIR="$2"; shift 2 ;;
    --dir=*) OPT_DIR="${1#*=}"; shift ;;
    --kafka-port) [[ $# -ge 2 ]] || die "--kafka-port needs a value"; OPT_KAFKA_PORT="$2"; shift 2 ;;
    --kafka-port=*) OPT_KAFKA_PORT="${1#*=}"; shift ;;
    --pg-port) [[ $# -ge 2 ]] || die "--pg-port needs a value"; OPT_PG_PORT="$2"; shift 2 ;;
    --pg-port=*) OPT_PG_PORT="${1#*=}"; shift ;;
    --purge) OPT_PURGE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage; die "unknown argument: $1" ;;
  esac
done

if [[ "$CMD" != up && ( -n "$OPT_KAFKA_PORT" || -n "$OPT_PG_PORT" ) && "$CMD" != env ]]; then
  die "--kafka-port/--pg-port only apply to 'up' (and 'env'); '$CMD' reads the ports stored by 'up'"
fi
if [[ "$CMD" != down && "$OPT_PURGE" == 1 ]]; then
  die "--purge only applies to 'down'"
fi

valid_port() { [[ "$1" =~ ^[0-9]+$ ]] && (( $1 >= 1 && $1 <= 65534 )); }
[[ -z "$OPT_KAFKA_PORT" ]] || valid_port "$OPT_KAFKA_PORT" || die "bad --kafka-port: $OPT_KAFKA_PORT (the controller needs port+1 too)"
[[ -z "$OPT_PG_PORT" ]] || valid_port "$OPT_PG_PORT" || die "bad --pg-port: $OPT_PG_PORT"

DIR="${OPT_DIR:-$DEFAULT_DIR}"
[[ -n "$DIR" ]] || die "--dir must not be empty"
[[ "$DIR" == /* ]] || DIR="$REPO_ROOT/$DIR"
# Normalise (the directory may not exist yet).
DIR="$(realpath -m -- "$DIR")"

STATE_FILE="$DIR/infra.env"
KAFKA_DATA="$DIR/kafka-data"
KAFKA_PROPS="$DIR/server.properties"
KAFKA_LOGFILE="$DIR/kafka.log"
KAFKA_PIDFILE="$DIR/kafka.pid"
PG_DATA="$DIR/pg"
PG_LOGFILE="$DIR/postgres.log"

# Ports: flags, else what `up` stored in DIR, else the defaults.
STORED_KAFKA_PORT=""
STORED_PG_PORT=""
STORED_PG_SOCKET_DIR=""
if [[ -f "$STATE_FILE" ]]; then
  STORED_KAFKA_PORT="$(sed -n 's/^KAFKA_PORT=\([0-9]*\)$/\1/p' "$STATE_FILE" | tail -n1)"
  STORED_PG_PORT="$(sed -n 's/^PG_PORT=\([0-9]*\)$/\1/p' "$STATE_FILE" | tail -n1)"
  STORED_PG_SOCKET_DIR="$(sed -n 's/^PG_SOCKET_DIR=\(.*\)$/\1/p' "$STATE_FILE" | tail -n1)"
fi
KAFKA_PORT="${OPT_KAFKA_PORT:-${STORED_KAFKA_PORT:-$DEFAULT_KAFKA_PORT}}"
PG_PORT="${OPT_PG_PORT:-${STORED_PG_PORT:-$DEFAULT_PG_PORT}}"
CONTROLLER_PORT=$((KAFKA_PORT + 1))

IS_ROOT=0
[[ "$(id -u)" == 0 ]] && IS_ROOT=1

# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
port_open() { # port -> 0 when something accepts TCP connections on 127.0.0.1:port
  # shellcheck disable=SC2016  # $1 is expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

pid_alive() { # a zombie (exited, not yet reaped by its parent) counts as dead
  [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ "${stat:0:1}" != Z ]]
}

proc_cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true; }

# The pid of this DIR's Kafka broker, or nothing. Checks the command line, so
# a stale pid file whose number was reused by another process never matches.
kafka_pid() {
  local pid cmd
  if [[ -f "$KAFKA_PIDFILE" ]]; then
    pid="$(tr -dc '0-9' <"$KAFKA_PIDFILE")"
    if pid_alive "$pid"; then
      cmd="$(proc_cmdline "$pid")"
      if [[ "$cmd" == *kafka.Kafka*"$KAFKA_PROPS"* ]]; then
        echo "$pid"; return 0
      fi
    fi
  fi
  # Pid file lost or stale: look for a broker started with exactly this config.
  local f
  while IFS= read -r f; do
    pid="${f#/proc/}"; pid="${pid%/cmdline}"
    [[ "$pid" == "$$" || "$pid" == "$BASHPID" ]] && continue
    cmd="$(proc_cmdline "$pid")"
    if [[ "$cmd" == *" kafka.Kafka $KAFKA_PROPS"* ]]; then
      echo "$pid"; return 0
    fi
  done < <(grep -lsF -- "$KAFKA_PROPS" /proc/[0-9]*/cmdline 2>/dev/null || true)
  return 0
}

# Run a PostgreSQL server-side command as the right user: as root, the
# server refuses to run, so use the postgres system user.
as_pg() {
  if [[ "$IS_ROOT" == 1 ]]; then
    runuser -u "$PG_OS_USER" -- "$@"
  else
    "$@"
  fi
}

PG_BINDIR=""
PG_OS_USER="postgres"
has_pg_server() { [[ -x "$1/initdb" && -x "$1/pg_ctl" && -x "$1/postgres" && -x "$1/psql" ]]; }
pg_major_of() { "$1/postgres" --version 2>/dev/null | sed -n 's/.* \([0-9][0-9]*\)\([.][0-9]*\)*.*/\1/p' | head -n1; }

find_pg_bindir() {
  local cands=() c want=""
  [[ -n "${PARLEY_PG_BINDIR:-}" ]] && cands+=("$PARLEY_PG_BINDIR")
  if command -v pg_config >/dev/null 2>&1; then
    c="$(pg_config --bindir 2>/dev/null || true)"
    [[ -n "$c" ]] && cands+=("$c")
  fi
  # Debian/Ubuntu layout, newest major first; then RHEL's; then PATH.
  local d
  while IFS= read -r d; do cands+=("$d"); done < <(
    for d in /usr/lib/postgresql/*/bin /usr/pgsql-*/bin; do [[ -d "$d" ]] && echo "$d"; done \
      | awk -F/ '{ v=$0; gsub(/[^0-9]/, " ", v); split(v, a, " "); print a[1] "\t" $0 }' \
      | sort -t$'\t' -k1,1nr | cut -f2-)
  if command -v initdb >/dev/null 2>&1; then cands+=("$(dirname -- "$(command -v initdb)")"); fi

  # An existing cluster can only be run by its own major version.
  [[ -f "$PG_DATA/PG_VERSION" ]] && want="$(tr -dc '0-9' <"$PG_DATA/PG_VERSION")"
  for c in "${cands[@]}"; do
    has_pg_server "$c" || continue
    if [[ -z "$want" || "$(pg_major_of "$c")" == "$want" ]]; then
      PG_BINDIR="$c"; return 0
    fi
  done
  if [[ -n "$want" ]]; then
    die "the PostgreSQL cluster in $PG_DATA was made by PostgreSQL $want, whose server binaries were not found (install postgresql-$want, e.g. 'apt-get install postgresql-$want', set PARLEY_PG_BINDIR, or run 'down --purge')"
  fi
  return 1
}

require_pg() {
  find_pg_bindir || die "PostgreSQL server binaries (initdb, pg_ctl, postgres, psql) not found via \$PARLEY_PG_BINDIR, pg_config --bindir, /usr/lib/postgresql/*/bin or PATH. Install them, e.g. 'apt-get install postgresql' (Debian/Ubuntu; the service need not run) or 'dnf install postgresql-server'."
  if [[ "$IS_ROOT" == 1 ]]; then
    id -u "$PG_OS_USER" >/dev/null 2>&1 || die "running as root, PostgreSQL must run as the '$PG_OS_USER' system user, which does not exist (installing the postgresql package creates it, or: useradd --system $PG_OS_USER)"
    command -v runuser >/dev/null 2>&1 || die "running as root needs 'runuser' (package util-linux) to start PostgreSQL as '$PG_OS_USER'"
  fi
}

PG_SOCKET_DIR=""
choose_pg_socket_dir() {
  # A Unix socket path must fit in 107 bytes; a deep DIR falls back to /tmp.
  if [[ -n "$STORED_PG_SOCKET_DIR" ]]; then
    PG_SOCKET_DIR="$STORED_PG_SOCKET_DIR"
    return 0
  fi
  PG_SOCKET_DIR="$DIR/pg-socket"
  if (( ${#PG_SOCKET_DIR} + 21 > 100 )); then  # 21 = "/.s.PGSQL.65535.lock"
    PG_SOCKET_DIR="/tmp/parley-pgsock-$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)"
  fi
}

# The postmaster of this DIR runs: postmaster.pid names a live (non-zombie)
# process whose working directory is the data directory (so a pid reused by
# an unrelated process does not count).
pg_running() {
  local pid
  pid="$(pg_pid)"
  [[ -n "$pid" ]] && pid_alive "$pid" || return 1
  [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == "$PG_DATA" ]]
}

# After a crash (kill -9, OOM) postmaster.pid stays behind. PostgreSQL copes
# with that itself unless the old pid is a zombie that nobody reaped yet (some
# container inits are slow to): then it believes the old server still runs.
pg_clear_stale_pidfile() {
  [[ -f "$PG_DATA/postmaster.pid" ]] || return 0
  local pid i
  pid="$(pg_pid)"
  [[ -n "$pid" ]] || return 0
  for (( i = 0; i < 50; i++ )); do
    kill -0 "$pid" 2>/dev/null || return 0   # gone for good: postgres handles the rest
    sleep 0.2
  done
  pid_alive "$pid" && return 0               # a live process: pg_ctl will say what it is
  local users=() d
  for d in /proc/[0-9]*; do
    [[ "$(readlink "$d/cwd" 2>/dev/null)" == "$PG_DATA" ]] && pid_alive "${d#/proc/}" && users+=("${d#/proc/}")
  done
  if (( ${#users[@]} > 0 )); then
    die "PostgreSQL's postmaster (pid $pid) died but processes ${users[*]} still use $PG_DATA; stop them first"
  fi
  log "removing stale $PG_DATA/postmaster.pid (pid $pid exited, unreaped)"
  rm -f -- "$PG_DATA/postmaster.pid"
}

pg_pid() { [[ -f "$PG_DATA/postmaster.pid" ]] && head -n1 "$PG_DATA/postmaster.pid" | tr -dc '0-9'; return 0; }

pg_ready() { # server accepts SQL connections on the TCP port
  PGCONNECT_TIMEOUT=5 "$PG_BINDIR/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1
}

write_state() {
  mkdir -p "$DIR"
  local tmp="$STATE_FILE.tmp.$$"
  {
    echo "# written by deploy/local/infra.sh up; read by down/status/env"
    echo "KAFKA_PORT=$KAFKA_PORT"
    echo "PG_PORT=$PG_PORT"
    echo "PG_SOCKET_DIR=$PG_SOCKET_DIR"
  } >"$tmp"
  mv -f "$tmp" "$STATE_FILE"
}

# Serialise commands on one DIR (two `up`s at once would both start servers).
lock_dir() {
  mkdir -p "$DIR"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$DIR/.infra.lock"
    if ! flock -w "$((TIMEOUT + 60))" 9; then die "another infra.sh holds $DIR/.infra.lock"; fi
  fi
}

# --------------------------------------------------------------------------
# Kafka
# --------------------------------------------------------------------------
JAVA=""
require_java() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then JAVA="$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then JAVA="$(command -v java)"
  else die "java not found: Kafka 4 needs Java 17 or newer (e.g. 'apt-get install openjdk-17-jre-headless')"
  fi
  local v major
  v="$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)"
  major="${v%%.*}"
  [[ "$major" == 1 ]] && major="$(echo "$v" | cut -d. -f2)"
  if [[ "$major" =~ ^[0-9]+$ ]] && (( major < 17 )); then
    die "$JAVA is Java $v; the Kafka 4 broker needs Java 17 or newer (e.g. 'apt-get install openjdk-17-jre-headless', or set JAVA_HOME)"
  fi
}

KAFKA_LIB=""
pom_stamp() { cksum <"$KAFKA_POM" | cut -d' ' -f1; }

kafka_lib_ready() {
  if [[ -n "${PARLEY_KAFKA_LIB:-}" ]]; then
    KAFKA_LIB="$PARLEY_KAFKA_LIB"
    compgen -G "$KAFKA_LIB/kafka_2.13-*.jar" >/dev/null || die "PARLEY_KAFKA_LIB=$KAFKA_LIB holds no kafka_2.13 jar"
    return 0
  fi
  KAFKA_LIB="$KAFKA_LIB_CACHE"
  [[ -f "$KAFKA_LIB/.pom-stamp" && "$(cat "$KAFKA_LIB/.pom-stamp")" == "$(pom_stamp)" ]] \
    && compgen -G "$KAFKA_LIB/kafka_2.13-*.jar" >/dev/null
}

require_mvn_if_needed() {
  kafka_lib_ready && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn not found: it is needed once, to fetch Kafka's jars into $KAFKA_LIB_CACHE (e.g. 'apt-get install maven')"
}

fetch_kafka_lib() {
  kafka_lib_ready && return 0
  mkdir -p "$(dirname -- "$KAFKA_LIB_CACHE")"
  # One download at a time across every DIR.
  if command -v flock >/dev/null 2>&1; then
    exec 8>"$KAFKA_LIB_CACHE.lock"
    flock -w 900 8 || die "timed out waiting for $KAFKA_LIB_CACHE.lock"
    if kafka_lib_ready; then exec 8>&-; return 0; fi
  fi
  log "fetching Kafka jars with Maven into $KAFKA_LIB_CACHE (once) ..."
  local tmp="$KAFKA_LIB_CACHE.tmp.$$" t0=$SECONDS
  rm -rf -- "$tmp"
  if ! mvn -q -B -Dstyle.color=never -f "$KAFKA_POM" dependency:copy-dependencies \
        -DoutputDirectory="$tmp" >"$tmp.mvn.log" 2>&1; then
    tail -n 40 "$tmp.mvn.log" >&2 || true
    rm -rf -- "$tmp" "$tmp.mvn.log"
    die "Maven could not fetch Kafka's jars (see above)"
  fi
  rm -f -- "$tmp.mvn.log"
  compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || die "Maven ran but $tmp has no kafka_2.13 jar"
  pom_stamp >"$tmp/.pom-stamp"
  rm -rf -- "$KAFKA_LIB_CACHE.old"
  [[ -d "$KAFKA_LIB_CACHE" ]] && mv -- "$KAFKA_LIB_CACHE" "$KAFKA_LIB_CACHE.old"
  mv -- "$tmp" "$KAFKA_LIB_CACHE"
  rm -rf -- "$KAFKA_LIB_CACHE.old"
  exec 8>&-
  local jars=("$KAFKA_LIB_CACHE"/*.jar)
  log "Kafka jars ready ($(( SECONDS - t0 )) s, ${#jars[@]} jars)"
}

kafka_tool() { # main-class args... : run a Kafka tool from the cached jars
  "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$KAFKA_TOOLS_LOG4J" -cp "$KAFKA_LIB/*" "$@"
}

write_kafka_props() {
  mkdir -p "$KAFKA_DATA"
  local tmp="$KAFKA_PROPS.tmp.$$"
  cat >"$tmp" <<EOF
# Written by deploy/local/infra.sh on every 'up' (edits are lost).
# Single-node KRaft: this process is both broker and controller.
process.roles=broker,controller
node.id=1
# Static quorum of one voter, so the ports may change between runs.
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_DATA

num.partitions=6
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
  mv -f "$tmp" "$KAFKA_PROPS"
}

kafka_format_if_needed() {
  [[ -f "$KAFKA_DATA/meta.properties" ]] && return 0
  local cid
  cid="$(kafka_tool kafka.tools.StorageTool random-uuid | tail -n1 | tr -d '[:space:]')"
  [[ -n "$cid" ]] || die "kafka.tools.StorageTool random-uuid printed no cluster id"
  log "formatting Kafka storage in $KAFKA_DATA (cluster id $cid)"
  kafka_tool kafka.tools.StorageTool format -t "$cid" -c "$KAFKA_PROPS" --ignore-formatted 2>&1 \
    | sed 's/^/[infra]   /' >&2 || die "kafka.tools.StorageTool format failed"
}

kafka_started_in_log() { grep -q 'Kafka Server started' "$KAFKA_LOGFILE" 2>/dev/null; }

kafka_fail() {
  log "last 40 lines of $KAFKA_LOGFILE:"
  tail -n 40 "$KAFKA_LOGFILE" >&2 2>/dev/null || true
  die "$1"
}

KAFKA_T0=$SECONDS
wait_kafka() { # pid
  local pid="$1" t0=$KAFKA_T0 next=$((SECONDS + 10))
  while :; do
    if ! pid_alive "$pid"; then
      rm -f -- "$KAFKA_PIDFILE"
      local bind
      bind="$(grep -o 'failed to bind to [0-9.:]*' "$KAFKA_LOGFILE" 2>/dev/null | head -n 1 || true)"
      bind="${bind%:}"
      [[ -z "$bind" ]] || kafka_fail "Kafka exited during startup: it $bind (port in use, perhaps by an outgoing connection; choose another --kafka-port, whose next port is the controller's)"
      kafka_fail "Kafka exited during startup"
    fi
    if kafka_started_in_log && port_open "$KAFKA_PORT"; then
      log "Kafka is up on 127.0.0.1:$KAFKA_PORT (pid $pid, $(( SECONDS - t0 )) s)"
      return 0
    fi
    if (( SECONDS - t0 >= TIMEOUT )); then
      log "last 40 lines of $KAFKA_LOGFILE:"
      tail -n 40 "$KAFKA_LOGFILE" >&2 2>/dev/null || true
      log "Kafka did not start within $TIMEOUT s; stopping it (pid $pid)"
      kafka_down >/dev/null 2>&1 || true
      die "Kafka did not start within $TIMEOUT s (raise PARLEY_INFRA_TIMEOUT if the machine is just slow)"
    fi
    if (( SECONDS >= next )); then
      log "  still waiting for Kafka ($(( SECONDS - t0 )) s) ..."
      next=$((SECONDS + 10))
    fi
    sleep 0.5
  done
}

# Starts Kafka unless it already runs; sets KAFKA_WAIT_PID when the caller
# still has to wait_kafka (so PostgreSQL can start meanwhile).
KAFKA_WAIT_PID=""
kafka_up_begin() {
  local pid
  pid="$(kafka_pid)"
  if [[ -n "$pid" ]]; then
    echo "$pid" >"$KAFKA_PIDFILE"
    if port_open "$KAFKA_PORT" && kafka_started_in_log; then
      log "Kafka already running on 127.0.0.1:$KAFKA_PORT (pid $pid)"
      return 0
    fi
    log "Kafka (pid $pid) is running but not ready yet; waiting"
    KAFKA_WAIT_PID="$pid"
    return 0
  fi
  rm -f -- "$KAFKA_PIDFILE"
  if port_open "$KAFKA_PORT"; then die "port $KAFKA_PORT is already in use by another process (choose another --kafka-port)"; fi
  if port_open "$CONTROLLER_PORT"; then die "port $CONTROLLER_PORT (Kafka controller = kafka port + 1) is already in use by another process"; fi

  fetch_kafka_lib
  write_kafka_props
  kafka_format_if_needed

  [[ -f "$KAFKA_LOGFILE" ]] && mv -f -- "$KAFKA_LOGFILE" "$KAFKA_LOGFILE.prev"
  log "starting Kafka on 127.0.0.1:$KAFKA_PORT (controller :$CONTROLLER_PORT), log $KAFKA_LOGFILE"
  local heap="${PARLEY_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
  # The broker gets its own session (no terminal signals), no stdin, its output
  # in the log, and none of our lock fds; the inner bash writes its own pid,
  # then becomes java.
  # shellcheck disable=SC2086,SC2016  # heap options are word-split; $$ and $1 are the inner bash's
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$KAFKA_PIDFILE" \
    "$JAVA" $heap -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
    -cp "$KAFKA_LIB/*" kafka.Kafka "$KAFKA_PROPS" \
    </dev/null >"$KAFKA_LOGFILE" 2>&1 8>&- 9>&- &
  local i
  for (( i = 0; i < 50; i++ )); do [[ -s "$KAFKA_PIDFILE" ]] && break; sleep 0.1; done
  pid="$(tr -dc '0-9' <"$KAFKA_PIDFILE" 2>/dev/null || true)"
  [[ -n "$pid" ]] || kafka_fail "could not start Kafka (no pid)"
  KAFKA_WAIT_PID="$pid"
  KAFKA_T0=$SECONDS
}

kafka_down() {
  local pid
  pid="$(kafka_pid)"
  if [[ -z "$pid" ]]; then
    rm -f -- "$KAFKA_PIDFILE"
    log "Kafka is not running"
    return 0
  fi
  log "stopping Kafka (pid $pid) ..."
  kill -TERM "$pid" 2>/dev/null || true
  local t0=$SECONDS
  while pid_alive "$pid" && (( SECONDS - t0 < KAFKA_STOP_TIMEOUT )); do sleep 0.2; done
  if pid_alive "$pid"; then
    log "Kafka did not stop within $KAFKA_STOP_TIMEOUT s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    while pid_alive "$pid"; do sleep 0.1; done
  fi
  rm -f -- "$KAFKA_PIDFILE"
  log "Kafka stopped ($(( SECONDS - t0 )) s)"
}

# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------
pg_prepare_dirs() {
  mkdir -p "$DIR" "$PG_SOCKET_DIR"
  touch "$PG_LOGFILE"
  if [[ "$IS_ROOT" == 1 ]]; then
    [[ -d "$PG_DATA" ]] || mkdir -p "$PG_DATA"
    chown "$PG_OS_USER:" "$PG_SOCKET_DIR" "$PG_LOGFILE"
    chown -R "$PG_OS_USER:" "$PG_DATA"
    if ! runuser -u "$PG_OS_USER" -- test -w "$PG_DATA" -a -w "$PG_SOCKET_DIR" -a -w "$PG_LOGFILE"; then
      die "the '$PG_OS_USER' user cannot reach $PG_DATA (every parent directory needs o+x, e.g. chmod o+x on the one that lacks it)"
    fi
  fi
  chmod 700 "$PG_DATA" 2>/dev/null || true
}

pg_initdb_if_needed() {
  [[ -f "$PG_DATA/PG_VERSION" ]] && return 0
  log "initialising PostgreSQL $(pg_major_of "$PG_BINDIR") cluster in $PG_DATA"
  if [[ -d "$PG_DATA" ]] && [[ -n "$(ls -A "$PG_DATA" 2>/dev/null)" ]]; then
    die "$PG_DATA exists, is not empty and holds no cluster (PG_VERSION missing); remove it or run 'down --purge'"
  fi
  # trust is fine: the server listens on 127.0.0.1 and a private socket dir only.
  if ! as_pg "$PG_BINDIR/initdb" -D "$PG_DATA" -U postgres --auth=trust \
       --encoding=UTF8 --locale=C >"$DIR/initdb.log" 2>&1; then
    tail -n 40 "$DIR/initdb.log" >&2 || true
    die "initdb failed (see $DIR/initdb.log)"
  fi
}

pg_ensure_app_db() {
  local psql=(env PGCONNECT_TIMEOUT=10 "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tA)
  if [[ "$("${psql[@]}" -c "select 1 from pg_roles where rolname = 'parley'")" != 1 ]]; then
    log "creating role parley"
    "${psql[@]}" -c "create role parley login password 'parley'" >/dev/null
  fi
  if [[ "$("${psql[@]}" -c "select 1 from pg_database where datname = 'parley'")" != 1 ]]; then
    log "creating database parley"
    "${psql[@]}" -c "create database parley owner parley" >/dev/null
  fi
}

pg_up() {
  if pg_running; then
    if pg_ready; then
      log "PostgreSQL already running on 127.0.0.1:$PG_PORT (pid $(pg_pid))"
      pg_ensure_app_db
      return 0
    fi
    local t0=$SECONDS
    log "PostgreSQL (pid $(pg_pid)) is running but not answering on 127.0.0.1:$PG_PORT yet; waiting"
    until pg_ready; do
      (( SECONDS - t0 < TIMEOUT )) || { tail -n 40 "$PG_LOGFILE" >&2 || true; die "PostgreSQL in $PG_DATA runs but does not answer on 127.0.0.1:$PG_PORT (other port? run 'down' first)"; }
      sleep 0.5
    done
    pg_ensure_app_db
    return 0
  fi
  if port_open "$PG_PORT"; then die "port $PG_PORT is already in use by another process (choose another --pg-port)"; fi

  pg_prepare_dirs
  pg_initdb_if_needed
  pg_clear_stale_pidfile
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT, log $PG_LOGFILE"
  local t0=$SECONDS
  if ! as_pg "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -l "$PG_LOGFILE" -s -w -t "$TIMEOUT" \
       -o "-p $PG_PORT -k $PG_SOCKET_DIR -c listen_addresses=127.0.0.1 -c shared_buffers=$PG_SHARED_BUFFERS" start >&2 </dev/null 8>&- 9>&-; then
    log "last 40 lines of $PG_LOGFILE:"
    tail -n 40 "$PG_LOGFILE" >&2 || true
    die "PostgreSQL did not start"
  fi
  until pg_ready; do
    (( SECONDS - t0 < TIMEOUT )) || { tail -n 40 "$PG_LOGFILE" >&2 || true; die "PostgreSQL started but does not answer on 127.0.0.1:$PG_PORT"; }
    sleep 0.2
  done
  pg_ensure_app_db
  log "PostgreSQL is up on 127.0.0.1:$PG_PORT (pid $(pg_pid), $(( SECONDS - t0 )) s)"
}

pg_down() {
  if [[ ! -f "$PG_DATA/postmaster.pid" ]]; then
    log "PostgreSQL is not running"
    return 0
  fi
  if [[ -z "$PG_BINDIR" ]] && ! find_pg_bindir; then
    die "PostgreSQL in $PG_DATA seems to run (postmaster.pid) but no pg_ctl was found to stop it"
  fi
  if ! pg_running; then
    log "PostgreSQL is not running (stale postmaster.pid)"
    return 0
  fi
  local pid t0=$SECONDS
  pid="$(pg_pid)"
  log "stopping PostgreSQL (pid $pid) ..."
  if ! as_pg "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null 2>&1; then
    log "fast shutdown failed; trying immediate"
    as_pg "$PG_BINDIR/pg_ctl" -D "$PG_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  local i
  for (( i = 0; i < 100; i++ )); do
    if [[ -z "$pid" ]] || ! pid_alive "$pid"; then break; fi
    sleep 0.1
  done
  if [[ -n "$pid" ]] && pid_alive "$pid"; then
    die "PostgreSQL (pid $pid) is still running"
  fi
  log "PostgreSQL stopped ($(( SECONDS - t0 )) s)"
}

# --------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------
cmd_up() {
  # Check every prerequisite before starting anything.
  require_java
  require_mvn_if_needed
  require_pg
  command -v setsid >/dev/null 2>&1 || die "'setsid' not found (package util-linux)"
  [[ "$KAFKA_PORT" != "$PG_PORT" && "$CONTROLLER_PORT" != "$PG_PORT" ]] \
    || die "Kafka ports ($KAFKA_PORT, $CONTROLLER_PORT) and the PostgreSQL port ($PG_PORT) must differ"

  lock_dir
  # A running stack keeps its ports: refuse to silently ignore new ones.
  if [[ -n "$STORED_KAFKA_PORT$STORED_PG_PORT" ]]; then
    local kp
    kp="$(kafka_pid)"
    if [[ -n "$kp" && -n "$STORED_KAFKA_PORT" && "$STORED_KAFKA_PORT" != "$KAFKA_PORT" ]]; then
      die "Kafka in $DIR already runs on port $STORED_KAFKA_PORT, not $KAFKA_PORT: run 'down --dir $DIR' first"
    fi
    if pg_running && [[ -n "$STORED_PG_PORT" && "$STORED_PG_PORT" != "$PG_PORT" ]]; then
      die "PostgreSQL in $DIR already runs on port $STORED_PG_PORT, not $PG_PORT: run 'down --dir $DIR' first"
    fi
  fi
  choose_pg_socket_dir
  mkdir -p "$DIR"
  touch "$DIR/$MARKER"
  write_state

  local t0=$SECONDS
  kafka_up_begin
  pg_up
  [[ -z "$KAFKA_WAIT_PID" ]] || wait_kafka "$KAFKA_WAIT_PID"
  log "infrastructure up in $DIR ($(( SECONDS - t0 )) s): Kafka 127.0.0.1:$KAFKA_PORT, PostgreSQL 127.0.0.1:$PG_PORT"
}

cmd_down() {
  if [[ ! -d "$DIR" ]]; then
    log "nothing in $DIR"
    return 0
  fi
  if [[ "$OPT_PURGE" == 1 ]]; then
    # Guard against 'down --purge --dir <somewhere important>'.
    case "$DIR" in
      /|"$REPO_ROOT"|"$REPO_ROOT/.parley"|"${HOME:-/nonexistent}") die "refusing to purge $DIR" ;;
    esac
    if [[ ! -f "$DIR/$MARKER" && -n "$(ls -A "$DIR" 2>/dev/null)" ]]; then
      die "refusing to purge $DIR: it was not made by infra.sh (no $MARKER file)"
    fi
  fi
  [[ -f "$DIR/$MARKER" ]] && lock_dir
  kafka_down
  if [[ -f "$PG_DATA/postmaster.pid" ]]; then
    require_pg
  fi
  pg_down
  if [[ "$OPT_PURGE" == 1 ]]; then
    choose_pg_socket_dir
    [[ "$PG_SOCKET_DIR" == /tmp/parley-pgsock-* ]] && rm -rf -- "$PG_SOCKET_DIR"
    exec 9>&-
    rm -rf -- "$DIR"
    log "purged $DIR"
  fi
}

cmd_status() {
  local pid kstate pstate
  pid=""
  [[ -d "$DIR" ]] && pid="$(kafka_pid)"
  if [[ -n "$pid" ]]; then
    if port_open "$KAFKA_PORT"; then kstate="running (pid $pid, 127.0.0.1:$KAFKA_PORT)"
    else kstate="starting (pid $pid, 127.0.0.1:$KAFKA_PORT not answering yet)"; fi
  else
    kstate="stopped"
  fi
  pstate="stopped"
  if pg_running && find_pg_bindir; then
    if pg_ready; then pstate="running (pid $(pg_pid), 127.0.0.1:$PG_PORT)"
    else pstate="starting (pid $(pg_pid), 127.0.0.1:$PG_PORT not answering yet)"; fi
  fi
  echo "kafka: $kstate"
  echo "postgres: $pstate"
}

cmd_env() {
  echo "export PARLEY_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT"
  echo "export PARLEY_DATABASE_URL=postgresql+asyncpg://parley:parley@127.0.0.1:$PG_PORT/parley"
}

case "$CMD" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
esac
