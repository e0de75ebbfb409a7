#!/usr/bin/env bash
# Lighthouse on the logged-in PWA: the participant home and the session runner.
# A benchmark (prints figures), not a test. Run with `make lighthouse`.
#
#   - installs Lighthouse + puppeteer-core (pinned) into bench/.node when missing
#   - starts the app with gunicorn on a free 127.0.0.1 port, a fresh SQLite
#     database in a temporary folder and the demo data
#   - logs in through the real login form in Debian's Chromium and audits each
#     page in that browser (bench/lighthouse.mjs), mobile emulation
#   - writes JSON + HTML reports to bench/results/lighthouse/ and prints a table
#
# Environment: CHROME_PATH (default /usr/bin/chromium), LH_RUNS (default 3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

LIGHTHOUSE_VERSION=12.8.2       # the newest Lighthouse that runs on Node 20 (13.x needs Node >= 22.19)
PUPPETEER_CORE_VERSION=24.43.1  # the puppeteer-core line Lighthouse 12.8.2 depends on (^24.17.1)
NODE_DIR="$ROOT/bench/.node"
OUT_DIR="$ROOT/bench/results/lighthouse"
export CHROME_PATH="${CHROME_PATH:-/usr/bin/chromium}"

command -v node >/dev/null || { echo "lighthouse.sh: node is required (Node 20)" >&2; exit 1; }
[ -x "$CHROME_PATH" ] || { echo "lighthouse.sh: no Chromium at $CHROME_PATH (make chromium)" >&2; exit 1; }
[ -x .venv/bin/gunicorn ] || { echo "lighthouse.sh: .venv/bin/gunicorn missing (make install)" >&2; exit 1; }

installed() {  # the pinned version of package $1 is in bench/.node
  node -e "process.exit(require('$NODE_DIR/node_modules/$1/package.json').version === '$2' ? 0 : 1)" 2>/dev/null
}
if ! installed lighthouse "$LIGHTHOUSE_VERSION" || ! installed puppeteer-core "$PUPPETEER_CORE_VERSION"; then
  echo "== installing lighthouse@$LIGHTHOUSE_VERSION and puppeteer-core@$PUPPETEER_CORE_VERSION into bench/.node"
  npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error \
    "lighthouse@$LIGHTHOUSE_VERSION" "puppeteer-core@$PUPPETEER_CORE_VERSION"
fi

PORT=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
D=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$D"
}
trap cleanup EXIT

echo "== fresh SQLite database and demo data in $D"
export INSTANCE_PATH=$D DATABASE_URL=sqlite:///$D/bench.db
.venv/bin/flask --app wsgi db upgrade >"$D/setup.log" 2>&1 || { cat "$D/setup.log"; exit 1; }
.venv/bin/flask --app wsgi demo --if-empty >>"$D/setup.log" 2>&1 || { cat "$D/setup.log"; exit 1; }

serve() {  # serve <app folder>: gunicorn from that folder, logging each request to $D/access.log
  (cd "$1" && exec "$ROOT/.venv/bin/gunicorn" --bind "127.0.0.1:$PORT" --workers 2 \
    --access-logfile "$D/access.log" --access-logformat '%(m)s %(U)s %(s)s %({content-length}o)s' \
    wsgi:app) >>"$D/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 60); do
    curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "gunicorn exited:" >&2; cat "$D/server.log" >&2; exit 1; }
    sleep 0.5
  done
  curl -fsS "$BASE/readyz" >/dev/null || { echo "$BASE/readyz never answered" >&2; cat "$D/server.log" >&2; exit 1; }
}

echo "== gunicorn on $BASE"
serve "$ROOT"

# The runner page: session number 1 of the demo cohort that runs today.
JAR="$D/cookies.txt"
curl -fsS -c "$JAR" -b "$JAR" -H 'Content-Type: application/json' \
  -d '{"email": "facilitator@example.org", "password": "ipt-demo-2026"}' "$BASE/api/auth/login" >/dev/null
COHORT_ID=$(curl -fsS -b "$JAR" "$BASE/api/cohorts" | .venv/bin/python -c '
import json, sys
print(next(c["id"] for c in json.load(sys.stdin) if c["name"] == "Demo group (running today)"))')
SESSION_ID=$(curl -fsS -b "$JAR" "$BASE/api/cohorts/$COHORT_ID/sessions" | .venv/bin/python -c '
import json, sys
sessions = [s for s in json.load(sys.stdin) if s["number"] == 1]
print(next((s for s in sessions if s["kind"] == "group"), sessions[0])["id"])')
echo "== cohort $COHORT_ID \"Demo group (running today)\", session 1 is /#/sessions/$SESSION_ID"

mkdir -p "$OUT_DIR"
node bench/lighthouse.mjs "$BASE" "$SESSION_ID" "$OUT_DIR"

# A later release that changes one participant view: what does an installed
# phone fetch? The same app is copied to a temporary folder with one line added
# to js/views/home.js and served on the same port (same origin, same database);
# the participant's browser profile from before opens the app and waits until
# that release's service worker is installed. The access log says what was asked.
echo
echo "== a release that changes one view (js/views/home.js)"
node bench/release.mjs "$BASE" "$D/profile" install
kill "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true
mkdir "$D/release-2"
cp -r ipt_groups migrations wsgi.py "$D/release-2/"
printf '\n// release 2\n' >>"$D/release-2/ipt_groups/static/js/views/home.js"
serve "$D/release-2"
FROM=$(wc -l <"$D/access.log")
node bench/release.mjs "$BASE" "$D/profile" update
tail -n +"$((FROM + 1))" "$D/access.log" | .venv/bin/python -c '
import sys
rows = [line.split() for line in sys.stdin if line.strip()]
rows = [r for r in rows if r[1] != "/readyz"]
app = [r for r in rows if not r[1].startswith("/api/")]
size = lambda r: int(r[3]) if r[3].isdigit() else 0
for r in app:
    print(f"   {r[0]} {r[1]} {r[2]} {size(r)} B")
print(f"   static and worker requests after the release: {len(app)}, {sum(map(size, app))} B of bodies as sent (Content-Length)"
      f" (plus {len(rows) - len(app)} API calls of the page itself)")'
