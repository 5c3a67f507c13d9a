#!/usr/bin/env bash
# The main job on the bundled Zoom sandbox: build, start the sandbox on
# loopback, run the connectivity test and a few actions, stop the sandbox.
# Usage: ./demo.sh            (port 8790; ZOOM_SANDBOX_PORT to change)
set -euo pipefail
cd "$(dirname "$0")"

port="${ZOOM_SANDBOX_PORT:-8790}"
echo "==> cargo build --release (first time: about 11 minutes, wasmtime is large)"
cargo build --release --locked

host=target/release/soar-host
resource=target/demo/zoom-sandbox.toml
mkdir -p target/demo
sed "s/127.0.0.1:8790/127.0.0.1:${port}/g" fixtures/resources/zoom-sandbox.toml > "$resource"

target/release/zoom-sandbox --port "$port" > target/demo/sandbox.log 2>&1 &
sandbox=$!
trap 'kill $sandbox 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  grep -q listening target/demo/sandbox.log 2>/dev/null && break
  sleep 0.1
done
cat target/demo/sandbox.log

export ZOOM_CLIENT_SECRET=sandbox-client-secret
run() { echo; echo "\$ soar-host $*"; "$host" "$@"; }

run test "$resource"
run invoke "$resource" get_user -p user_id=me
run invoke "$resource" list_users --params @fixtures/params/list_users.json --compact
meeting=$("$host" invoke "$resource" list_meetings -p user_id=me -p page_size=1 --compact \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["meetings"][0]["id"])')
run invoke "$resource" get_meeting_invitation -p meeting_id="$meeting"
run invoke "$resource" update_meeting -p meeting_id="$meeting" -p topic="Incident bridge (restricted)" \
  --params '{"settings": {"waiting_room": true}}'
run invoke "$resource" delete_meeting -p meeting_id="$meeting"
echo
echo "\$ soar-host invoke $resource delete_meeting -p meeting_id=$meeting   # again: Zoom says 3001, exit 1"
set +e
"$host" invoke "$resource" delete_meeting -p meeting_id="$meeting"
echo "exit code: $?"
