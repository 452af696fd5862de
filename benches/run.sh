#!/usr/bin/env bash
# Runs every benchmark of zuora-oauth-benches once and prints what BENCHMARKS.md shows:
# the machine, the load before and after, criterion's numbers as Markdown tables
# (benches/report.py), the allocation and storm tables the benches print themselves, and
# callgrind instruction counts (benches/callgrind.sh).
#
#   benches/run.sh 2>&1 | tee bench.log
#
# The benchmarks themselves are just `cargo bench -p zuora-oauth-benches`; this script only
# adds the context. Take numbers only when `uptime` shows a load below 0.5.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

echo "## machine"
echo "commit: ${BENCH_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo "(not a git checkout)")}"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
echo "kernel: $(uname -r); $(rustc --version); $(cargo --version)"
echo "load before: $(uptime)"

cargo bench -p zuora-oauth-benches --no-run 2>&1 | tail -1
rm -rf "$CARGO_TARGET_DIR/criterion"
full="$CARGO_TARGET_DIR/bench-full.log"
echo "(full output: $full)"
cargo bench -p zuora-oauth-benches --no-fail-fast 2>&1 | tee "$full" |
    grep -E '^\||^Allocations|^Storm|^Round|^Exchange|^Cached-token|^API call|last sample|panicked|^error|^(exchange|hit|roundtrip|api_call)[^ ]*$|time:|thrpt:' || true

echo "load after: $(uptime)"
echo
echo "## criterion medians"
python3 benches/report.py
echo
echo "## instructions per exchange"
benches/callgrind.sh
