#!/usr/bin/env bash
# The main job on the bundled Zoom sandbox: build, start the sandbox on
# loopback, run the connectivity test and a few actions, stop the sandbox.
# Then it serves the web console on the same sandbox and says where to open it
# (it keeps running when started from a terminal; Ctrl-C stops it).
# Usage: ./demo.sh            (sandbox port 8790: ZOOM_SANDBOX_PORT; console 8787: SOAR_HOST_PORT)
set -euo pipefail
cd "$(dirname "$0")"

port="${ZOOM_SANDBOX_PORT:-8790}"
echo "==> cargo build --release (first time: about 16 minutes on 2 cores, wasmtime is large)"
cargo build --release --locked --quiet

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
# Recording downloads redirect to the sandbox's storage host (a port of its
# own): the resource lets the plugin go there, as `https://*.zoom.us` does for Zoom.
storage=$(grep -o 'served from http://[0-9.:]*' target/demo/sandbox.log | sed 's/served from //')
echo "storage_url = \"$storage/\"" >> "$resource"

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
set -e

echo
echo "==> Containment: an account is stolen. Find it, cut it off, clean up, keep the evidence."
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# A member (the sandbox's users 1 to 3 are admins, which Zoom will not deactivate).
victim=$("$host" invoke "$resource" list_users -p page_size=5 --compact | json 'd["users"][4]["email"]')
run invoke "$resource" list_signin_activities -p limit=6 --compact
echo "   (the victim's sign-ins:)"
"$host" invoke "$resource" list_signin_activities -p limit=300 --compact | VICTIM="$victim" python3 -c '
import json, os, sys
mine = [a for a in json.load(sys.stdin)["activity_logs"] if a["email"] == os.environ["VICTIM"]]
for a in mine[:4]:
    print("   %s %-8s from %s (%s)" % (a["time"], a["type"], a["ip_address"], a["client_type"]))'
run invoke "$resource" revoke_user_sessions -p user_id="$victim"
run invoke "$resource" deactivate_user -p user_id="$victim"
"$host" invoke "$resource" get_user -p user_id="$victim" --compact | json '"   status now: " + d["status"]'
run invoke "$resource" list_meetings -p user_id="$victim" -p type=upcoming --compact
upcoming=$("$host" invoke "$resource" list_meetings -p user_id="$victim" -p type=upcoming --compact | json 'd["meetings"][-1]["id"]')
run invoke "$resource" delete_meeting -p meeting_id="$upcoming"
from=$(date -u -d '-20 days' +%F); to=$(date -u +%F)
run invoke "$resource" list_recordings -p user_id="$victim" -p from="$from" -p to="$to" --compact
last=$("$host" invoke "$resource" list_recordings -p user_id="$victim" -p from="$from" -p to="$to" --compact | json 'd["meetings"][0]["uuid"]')
mkdir -p target/demo/evidence
run invoke "$resource" download_recording -p meeting_id="$last" --output target/demo/evidence
ls -l target/demo/evidence

echo
echo "==> The web console: soar-host serve on the same sandbox, with the shipped playbooks"
mkdir -p target/demo/resources target/demo/state
cp "$resource" target/demo/resources/zoom.toml
export SOAR_HOST_STATE_DIR="$PWD/target/demo/state"
token=$("$host" token create "demo-$(date +%s)")
"$host" serve --resources target/demo/resources --playbooks playbooks \
  --listen "127.0.0.1:${SOAR_HOST_PORT:-8787}" > target/demo/serve.out 2> target/demo/serve.log &
serve=$!
trap 'kill $serve $sandbox 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q listening target/demo/serve.out 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/^listening on //p' target/demo/serve.out)
[ -n "$url" ] || { cat target/demo/serve.log; exit 1; }
echo "Open $url/ in a browser and sign in with this API token (shown once):"
echo "    $token"
if [ -t 0 ]; then
  echo "(Ctrl-C stops the console and the sandbox)"
  wait "$serve"
fi
