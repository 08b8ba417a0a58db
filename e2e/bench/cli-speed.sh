#!/usr/bin/env bash
# How fast the built `flowplane` CLI answers (README "Benchmarks"): median wall time with hyperfine and
# peak resident memory with GNU time, for `flowplane --help` and for `flowplane flow-run ls` against a
# running server (embedded PostgreSQL in a temporary FLOWPLANE_HOME, 50 runs in the list).
#
#   pnpm bench cli-speed          # or: bash e2e/bench/cli-speed.sh
#
# Targets (issue #14): --help <= 300 ms, flow-run ls <= 600 ms, peak RSS <= 120 MiB. Exits non-zero
# when one is missed.
set -euo pipefail
cd "$(dirname "$0")/../.."

# hyperfine for wall time, GNU time for peak memory (Debian packages).
if ! command -v hyperfine >/dev/null 2>&1 || [[ ! -x /usr/bin/time ]]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine time >/dev/null
fi
node infra/build/build-if-stale.mjs

CLI="node $PWD/packages/cli/dist/main.js"
export FLOWPLANE_HOME="$(mktemp -d)"
unset FLOWPLANE_API_URL FLOWPLANE_API_KEY NODE_OPTIONS
server_log="$FLOWPLANE_HOME/server.log"
# Own process group, so the cleanup stops the server and its PostgreSQL.
setsid $CLI server start --port 0 >"$server_log" 2>&1 &
server_pid=$!
cleanup() {
  kill -TERM -- "-$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  rm -rf "$FLOWPLANE_HOME"
}
trap cleanup EXIT
for _ in $(seq 1 120); do
  grep -q "server ready at" "$server_log" && break
  sleep 0.5
done
grep -q "server ready at" "$server_log" || { cat "$server_log"; exit 1; }

$CLI work-pool create bench --type process >/dev/null
$CLI deploy examples/hello.ts:hello --pool bench >/dev/null
for _ in $(seq 1 50); do $CLI deployment run hello/hello >/dev/null; done

results="$FLOWPLANE_HOME/hyperfine.json"
hyperfine --warmup 3 --runs 30 --export-json "$results" \
  --command-name "flowplane --help" "$CLI --help" \
  --command-name "flowplane flow-run ls" "$CLI flow-run ls"

peak_kib() {
  local peak=0 rss
  for _ in 1 2 3 4 5; do
    /usr/bin/time -f "%M" -o "$FLOWPLANE_HOME/rss" "$@" >/dev/null 2>&1
    rss=$(tail -1 "$FLOWPLANE_HOME/rss")
    if ((rss > peak)); then peak=$rss; fi
  done
  echo "$peak"
}
help_rss=$(peak_kib node packages/cli/dist/main.js --help)
ls_rss=$(peak_kib node packages/cli/dist/main.js flow-run ls)

node - "$results" "$help_rss" "$ls_rss" <<'JS'
const [file, helpRss, lsRss] = process.argv.slice(2);
const { results } = JSON.parse(require("node:fs").readFileSync(file, "utf8"));
const ms = (name) => results.find((r) => r.command === name).median * 1000;
const rows = [
  ["flowplane --help", ms("flowplane --help"), 300, Number(helpRss) / 1024],
  ["flowplane flow-run ls", ms("flowplane flow-run ls"), 600, Number(lsRss) / 1024],
];
let ok = true;
for (const [name, median, target, rssMiB] of rows) {
  const pass = median <= target && rssMiB <= 120;
  ok &&= pass;
  console.log(`${name}: median ${median.toFixed(0)} ms (target ${target}), peak RSS ${rssMiB.toFixed(0)} MiB (target 120) ${pass ? "ok" : "MISSED"}`);
}
process.exit(ok ? 0 : 1);
JS
