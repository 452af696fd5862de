#!/usr/bin/env python3
"""Markdown tables from criterion's saved estimates (after `cargo bench -p zuora-oauth-benches`).

    python3 benches/report.py [CRITERION_DIR]

CRITERION_DIR defaults to $CARGO_TARGET_DIR/criterion (or target/criterion). For every
benchmark it reads `new/estimates.json` and `new/sample.json`: the median of the per-sample
time per iteration (criterion's "median" estimate), the median absolute deviation (MAD) and
the 95 % confidence interval of the median. Standard library only.
"""

import json
import os
import sys
from pathlib import Path


def load(root):
    benches = {}
    for meta in root.glob("**/new/benchmark.json"):
        info = json.loads(meta.read_text())
        est = json.loads((meta.parent / "estimates.json").read_text())
        med = est["median"]
        benches[info["full_id"]] = {
            "group": info["group_id"],
            "name": info["function_id"],
            "median": med["point_estimate"],
            "lo": med["confidence_interval"]["lower_bound"],
            "hi": med["confidence_interval"]["upper_bound"],
            "mad": est["median_abs_dev"]["point_estimate"],
        }
    return benches


def fmt_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.1f} ns"


def cell(b):
    return f"{fmt_ns(b['median'])} ± {fmt_ns(b['mad'])}"


def ci(b):
    return f"{fmt_ns(b['lo'])} – {fmt_ns(b['hi'])}"


# Row order in the tables (the order the benches run in); unknown names go last.
ORDER = [
    "harness/clone canned response",
    "core/to_http+parse_response",
    "core/new+to_http+parse_response",
    "core/to_http+parse_response+read_all",
    "oauth2/exchange_client_credentials",
    "naive/urlencode+builder+serde_json",
    "naive/hoisted_form_and_uri",
    "core/to_http",
    "core/parse_response",
    "naive/serde_json_only",
    "control/thread-local arithmetic",
    "clock/coarsetime::Instant::now",
    "clock/coarse, as the sources read it",
    "clock/std::time::Instant::now",
    "clock/rdtsc (context)",
    "driver/token (constant clock)",
    "hyper/token (clones the handle)",
    "hyper/authorize",
    "ureq/token (clones the handle)",
    "ureq/authorize",
    "baseline/Mutex<Option<Arc<Token>>>",
    "hyper/HyperTransport::send",
    "hyper/raw hyper-util client (same connector)",
    "hyper/raw hyper-util client (HttpConnector)",
    "ureq/UreqTransport::send",
    "ureq/raw Agent::run",
    "ureq/raw Agent::run + adapter's timeouts",
]


def rank(b):
    return (ORDER.index(b["name"]) if b["name"] in ORDER else len(ORDER), b["name"])


def group(benches, name):
    return sorted((b for b in benches.values() if b["group"] == name), key=rank)


def exchange(benches):
    rows = group(benches, "exchange")
    if not rows:
        return
    by = {b["name"]: b for b in rows}
    harness = by.get("harness/clone canned response")
    oauth2 = by.get("oauth2/exchange_client_credentials")
    print("\n### Exchange (group `exchange`)\n")
    print("| variant | median ± MAD | 95 % CI of the median | net of the harness clone | oauth2 ÷ this (net) |")
    print("|---|---:|---:|---:|---:|")
    for b in rows:
        net = b["median"] - harness["median"] if harness else b["median"]
        is_harness = b is harness
        ratio = ""
        if oauth2 and harness and not is_harness:
            ratio = f"{(oauth2['median'] - harness['median']) / net:.2f}×"
        print(
            f"| {b['name']} | {cell(b)} | {ci(b)} | {'—' if is_harness else fmt_ns(net)} | {ratio} |"
        )
    if oauth2:
        print("\nGross ratios (harness clone included in both):")
        for b in rows:
            if b is not harness and b is not oauth2:
                print(f"- oauth2 ÷ {b['name']}: {oauth2['median'] / b['median']:.2f}×")
    parts = group(benches, "exchange-parts")
    if parts:
        print("\n| part (group `exchange-parts`) | median ± MAD | 95 % CI of the median |")
        print("|---|---:|---:|")
        for b in parts:
            print(f"| {b['name']} | {cell(b)} | {ci(b)} |")


def hit(benches):
    one = {b["name"]: b for b in group(benches, "hit/1-thread")}  # in ORDER
    two = {b["name"]: b for b in group(benches, "hit/2-thread")}
    if not one:
        return
    base = "baseline/Mutex<Option<Arc<Token>>>"
    print("\n### Cached-token hit (groups `hit/1-thread`, `hit/2-thread`)\n")
    print(
        "| operation | 1 thread: ns/op (median ± MAD) | 2 threads: ns/op per thread | "
        "throughput 1 → 2 threads (M ops/s) | scaling | × Mutex baseline, 2 threads |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, b1 in one.items():
        b2 = two.get(name)
        t1 = 1e3 / b1["median"]
        if b2:
            t2 = 2e3 / b2["median"]
            scaling = f"{t2 / t1:.2f}×"
            vs = f"{t2 / (2e3 / two[base]['median']):.1f}×" if base in two else ""
            print(
                f"| {name} | {b1['median']:.1f} ± {b1['mad']:.1f} | {b2['median']:.1f} ± {b2['mad']:.1f} | "
                f"{t1:.1f} → {t2:.1f} | {scaling} | {vs} |"
            )
        else:
            print(f"| {name} | {b1['median']:.1f} ± {b1['mad']:.1f} | | {t1:.1f} | | |")


def roundtrip(benches):
    rows = group(benches, "roundtrip")
    if not rows:
        return
    by = {b["name"]: b for b in rows}
    pairs = {
        "hyper/HyperTransport::send": [
            "hyper/raw hyper-util client (same connector)",
            "hyper/raw hyper-util client (HttpConnector)",
        ],
        "ureq/UreqTransport::send": [
            "ureq/raw Agent::run",
            "ureq/raw Agent::run + adapter's timeouts",
        ],
    }
    print("\n### Loopback round trip (group `roundtrip`)\n")
    print("| variant | median ± MAD | 95 % CI of the median |")
    print("|---|---:|---:|")
    for b in rows:
        print(f"| {b['name']} | {cell(b)} | {ci(b)} |")
    print()
    for adapter, raws in pairs.items():
        for raw in raws:
            if adapter in by and raw in by:
                print(f"- {adapter} ÷ {raw}: {by[adapter]['median'] / by[raw]['median']:.2f}×")


def main():
    if len(sys.argv) > 1:
        root = Path(sys.argv[1])
    else:
        root = Path(os.environ.get("CARGO_TARGET_DIR", "target")) / "criterion"
    benches = load(root)
    if not benches:
        sys.exit(f"no criterion results under {root}")
    exchange(benches)
    hit(benches)
    roundtrip(benches)


if __name__ == "__main__":
    main()
