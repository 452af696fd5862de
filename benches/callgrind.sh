#!/usr/bin/env bash
# Instructions per exchange, counted by callgrind (repeatable, unlike times on a shared VM):
# runs each variant of benches/exchange.rs N1 and N2 times and prints (Ir(N2) - Ir(N1)) /
# (N2 - N1), so start-up and set-up cancel out.
#
#   benches/callgrind.sh            # after `cargo bench -p zuora-oauth-benches --bench exchange --no-run`
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
bin=$(cargo bench -p zuora-oauth-benches --bench exchange --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m["target"]["name"]=="exchange" and m.get("executable"):
        print(m["executable"])')
n1=2000
n2=12000
ir() {
    local out
    out=$(mktemp)
    EXCHANGE_ONLY="$1:$2" valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" >/dev/null 2>&1
    awk '/^summary:|^totals:/ {print $2; exit}' "$out"
    rm -f "$out"
}
echo "| variant | instructions per exchange (callgrind Ir) |"
echo "|---|---:|"
for v in ${VARIANTS:-harness core core-new core-read core-to_http core-parse oauth2 naive naive-hoisted}; do
    a=$(ir "$v" $n1)
    b=$(ir "$v" $n2)
    echo "| $v | $(( (b - a) / (n2 - n1) )) |"
done
