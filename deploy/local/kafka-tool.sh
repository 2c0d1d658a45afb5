#!/usr/bin/env bash
# Run one of Apache Kafka's command-line tools from the jars that
# deploy/local/infra.sh fetched into .parley/kafka-lib/ (run `infra.sh up` once
# first). Tool logging (warnings only) goes to stderr.
#
#   deploy/local/kafka-tool.sh topics           --bootstrap-server 127.0.0.1:9092 --list
#   deploy/local/kafka-tool.sh console-producer --bootstrap-server 127.0.0.1:9092 --topic T
#   deploy/local/kafka-tool.sh console-consumer --bootstrap-server 127.0.0.1:9092 --topic T --from-beginning
#   deploy/local/kafka-tool.sh consumer-groups  --bootstrap-server 127.0.0.1:9092 --describe --all-groups
#   deploy/local/kafka-tool.sh get-offsets      --bootstrap-server 127.0.0.1:9092 --topic T
#   deploy/local/kafka-tool.sh <fully.qualified.MainClass> [args...]
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd -- "$SCRIPT_DIR/../.." && pwd -P)"
LIB="${PARLEY_KAFKA_LIB:-$REPO_ROOT/.parley/kafka-lib}"

[[ $# -ge 1 ]] || { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
tool="$1"; shift
case "$tool" in
  topics) main=org.apache.kafka.tools.TopicCommand ;;
  console-producer) main=org.apache.kafka.tools.ConsoleProducer ;;
  console-consumer) main=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
  consumer-groups) main=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
  get-offsets) main=org.apache.kafka.tools.GetOffsetShell ;;
  *.*) main="$tool" ;;
  *) echo "[kafka-tool] unknown tool: $tool" >&2; exit 2 ;;
esac
compgen -G "$LIB/kafka-tools-*.jar" >/dev/null \
  || { echo "[kafka-tool] no Kafka jars in $LIB: run deploy/local/infra.sh up first" >&2; exit 1; }
JAVA="java"
[[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] && JAVA="$JAVA_HOME/bin/java"
exec "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
  -Dlog4j2.configurationFile="$SCRIPT_DIR/kafka/log4j2-tools.properties" \
  -cp "$LIB/*" "$main" "$@"
