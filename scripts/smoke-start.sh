#!/usr/bin/env bash
# The README's walkthrough on a fresh data folder: `npm run seed` (a small world), `npm start`,
# wait for the GraphiQL URL it prints, then GraphiQL, signing in as the demo account, the feed,
# a post read back with X-Consistent-With, a new account, and /ready, over HTTP.
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(mktemp -d)
log=$(mktemp)
port=${SMOKE_PORT:-4517}
SEED_PEOPLE=${SEED_PEOPLE:-20}
DATA_DIR="$data" LOG_LEVEL=warn npm run -s seed -- --people "$SEED_PEOPLE" | tee "$log.seed" | grep '^demo:'
# Its own process group, so that stopping it stops npm's children too.
DATA_DIR="$data" PORT="$port" LOG_LEVEL=warn setsid npm start >"$log" 2>&1 &
pid=$!
cleanup() { kill -TERM -- "-$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data" "$log" "$log.html" "$log.seed"; }
trap cleanup EXIT

url=""
for _ in $(seq 1 120); do
  url=$(grep -o 'GraphiQL: http[^ ]*' "$log" | head -1 | cut -d' ' -f2 || true)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "npm start exited early"; exit 1; }
  sleep 0.5
done
[ -n "$url" ] || { cat "$log"; echo "no GraphiQL URL printed"; exit 1; }
echo "printed: $url"

# GraphiQL is one large page with its assets inline (it needs no internet): fetch it whole.
curl -fsS -H 'accept: text/html' "$url" -o "$log.html"
grep -qi graphiql "$log.html" || { echo "GET $url did not serve GraphiQL"; exit 1; }
post() { curl -fsS -H 'content-type: application/json' ${2:+-H "authorization: Bearer $2"} -d "$1" "$url"; }
post '{"query":"mutation { registerUser(input: {handle: \"smoke\", displayName: \"Smoke Test\", password: \"smoke test pw\"}) { position } }"}' | grep -q '"position"'
token=$(post '{"query":"mutation { signIn(handle: \"smoke\", password: \"smoke test pw\") { token } }"}' | sed -E 's/.*"token":"([^"]+)".*/\1/')
post '{"query":"{ me { handle displayName } }"}' "$token" | grep -q '"displayName":"Smoke Test"'
curl -fsS "http://127.0.0.1:$port/ready" | grep -q '"ready":true'

# The demo account from the seed: sign in, read the feed, post, read the post back.
demo=$(post '{"query":"mutation { signIn(handle: \"demo\", password: \"demo password\") { token } }"}' | sed -E 's/.*"token":"([^"]+)".*/\1/')
post '{"query":"{ feed(first: 5) { edges { node { body author { handle } } } } }"}' "$demo" | grep -q '"body"' || { echo "the demo feed is empty"; exit 1; }
position=$(post '{"query":"mutation { publishPost(input: { body: \"Hello from the walkthrough\" }) { position } }"}' "$demo" | sed -E 's/.*"position":"([0-9]+)".*/\1/')
curl -fsS -H 'content-type: application/json' -H "authorization: Bearer $demo" -H "x-consistent-with: $position" \
  -d '{"query":"{ feed(first: 1) { edges { node { body } } } }"}' "$url" | grep -q 'Hello from the walkthrough' || { echo "the post is not in the feed"; exit 1; }
echo "smoke: seeded, GraphiQL served, registered, signed in, read me; demo signed in, read the feed, posted and read it back: ok"
