#!/usr/bin/env python3
"""Reads criterion's estimates (benches/target/criterion/**/new/{benchmark,estimates}.json), the
memory and alloc-test outputs, and callgrind summaries, and writes docs/performance.md.

Usage: report.py BENCHES_DIR OUT_MD  (environment: PEERS_BUILT, PEERS_FAILED, MACHINE_*)
"""
import json
import math
import os
import re
import sys
from pathlib import Path

benches = Path(sys.argv[1])
out = Path(sys.argv[2])
target = benches / "target"
crit = target / "criterion"

# ---- collect -----------------------------------------------------------------------------
est = {}  # full_id -> (median_ns, lo, hi, mean_ns)
for bj in crit.glob("**/new/benchmark.json"):
    b = json.loads(bj.read_text())
    e = json.loads((bj.parent / "estimates.json").read_text())
    med = e["median"]
    est[b["full_id"]] = (
        med["point_estimate"],
        med["confidence_interval"]["lower_bound"],
        med["confidence_interval"]["upper_bound"],
        e["mean"]["point_estimate"],
    )


def t(gid, fid):
    v = est.get(f"{gid}/{fid}")
    return v[0] if v else None


def fmt_ns(ns):
    if ns is None:
        return "—"
    for unit, div in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= div:
            return f"{ns / div:.3g} {unit}" if ns / div < 100 else f"{ns / div:.0f} {unit}"
    return f"{ns:.3g} ns"


def geomean(xs):
    xs = [x for x in xs if x]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def r(x, d=2):
    return "—" if x is None else f"{x:.{d}f}×"


sizes = {}
sf = target / "load_sizes.txt"
if sf.exists():
    for line in sf.read_text().split("\n"):
        if line.strip():
            n, s = line.split()
            sizes[n] = int(s)

mem = []
mf = target / "memory.txt"
if mf.exists():
    for line in mf.read_text().split("\n"):
        if line.startswith("MEM "):
            _, name, who, live, linear, beyond = line.split()
            mem.append((name, who, int(live), int(linear), int(beyond)))

icount = {}  # (case, arg) -> instructions per operation
icf = target / "icount.txt"
if icf.exists():
    for line in icf.read_text().split("\n"):
        if line.startswith("ICOUNT "):
            _, case, arg, n = line.split()
            icount[(case, arg)] = int(n)


def ic(case, arg="-"):
    return icount.get((case, arg))


def ic_ratio(a, b):
    return a / b if a and b else None


whole = {}  # (label, workload) -> (a_median_s, b_median_s, ratio_median, ratio_min, ratio_max)
wholeic = {}  # (label, workload) -> (a_instructions, b_instructions, ratio)
wf = target / "whole.txt"
if wf.exists():
    for line in wf.read_text().split("\n"):
        if line.startswith("WHOLE "):
            _, label, w, a, b, ratio, lo, hi = line.split()
            whole[(label, w)] = (float(a), float(b), float(ratio), float(lo), float(hi))
        elif line.startswith("WHOLEIC "):
            _, label, w, a, b, ratio = line.split()
            wholeic[(label, w)] = (int(a), int(b), float(ratio))
WHOLE_W = ["fib_long", "sort_long", "sha_long", "xor_loop"]

unpatched = {}  # full_id -> median ns, criterion run against unpatched wasmi
for bj in (target / "criterion-unpatched").glob("**/new/benchmark.json"):
    b = json.loads(bj.read_text())
    e = json.loads((bj.parent / "estimates.json").read_text())
    unpatched[b["full_id"]] = e["median"]["point_estimate"]

alloc_test = (target / "alloc_test.txt").read_text() if (target / "alloc_test.txt").exists() else ""

env = os.environ
peers_built = env.get("PEERS_BUILT", "").split()
peers_failed = env.get("PEERS_FAILED", "")

# ---- targets ------------------------------------------------------------------------------
W = ["fib25", "sort10k", "sha256_64k"]
rows = []  # (target, measured by time, by instruction count, met by count, met by time)


def verdict(ok, ok_ic=None):
    if ok is None and ok_ic is None:
        return "—"
    if ok_ic is None or ok is None or ok == ok_ic:
        v = ok if ok is not None else ok_ic
        return "**met**" if v else "**missed**"
    return "**met** by time, **missed** by instruction count" if ok else "**missed** by time, **met** by instruction count"


def ic_row(xs, ok, text):
    """The instruction-count column and verdict of a target row, or "—" when not counted."""
    if not xs or any(x is None for x in xs):
        return ("not counted", None)
    return (text(xs), ok(xs))


def whole_ic_row(label, limit):
    """The same for a whole-process row: every workload's A/B instruction ratio within `limit`."""
    return ic_row([wholeic[(label, w)][2] if (label, w) in wholeic else None for w in WHOLE_W],
                  lambda xs: max(xs) <= limit,
                  lambda xs: f"worst {max(xs):.4f}× (" + ", ".join(f"{w} {x:.4f}×" for w, x in zip(WHOLE_W, xs)) + ")")


# whole process: the shipped CLI against wasmi's own CLI (CPU time, median of pairs)
sv = [whole.get(("shipped-vs-wasmi-cli", w)) for w in WHOLE_W]
cv = [whole.get(("control-vs-wasmi-cli", w)) for w in WHOLE_W]
if all(sv):
    rows.append((
        "Shipped CLI ≤ 1.02× wasmi's CLI 2.0.0 (whole process, CPU time, fuel on, every workload)",
        "worst " + f"{max(x[2] for x in sv):.3f}× (" + ", ".join(f"{w} {x[2]:.3f}×" for w, x in zip(WHOLE_W, sv)) + ")"
        + ("" if not all(cv) else "; control, wasmi's own CLI built without WASI / as published: "
           + ", ".join(f"{w} {x[2]:.3f}×" for w, x in zip(WHOLE_W, cv))),
        *whole_ic_row("shipped-vs-wasmi-cli", 1.02), max(x[2] for x in sv) <= 1.02,
    ))
else:
    rows.append(("Shipped CLI ≤ 1.02× wasmi's CLI 2.0.0 (whole process, CPU time, fuel on, every workload)",
                 "not measured (BENCH_WHOLE=0)", "—", None, None))
pv = [whole.get(("patched-vs-unpatched", w)) for w in WHOLE_W]
crit_pu = [(t(f"throughput/{w}", "host"), unpatched.get(f"throughput/{w}/host")) for w in ["fib25", "sort10k", "sha256_64k"]]
crit_pu = [(a, b) for a, b in crit_pu if a and b]
if all(pv):
    worst_c = max((a / b for a, b in crit_pu), default=None)
    rows.append((
        "Native-stack patch keeps throughput (host on patched / unpatched wasmi ≤ 1.02×, same profile)",
        "whole process: worst " + f"{max(x[2] for x in pv):.3f}× (" + ", ".join(f"{w} {x[2]:.3f}×" for w, x in zip(WHOLE_W, pv)) + ")"
        + ("" if worst_c is None else f"; criterion: worst {worst_c:.3f}×"),
        *whole_ic_row("patched-vs-unpatched", 1.02), max(x[2] for x in pv) <= 1.02,
    ))

# throughput: host vs raw wasmi without fuel (throughput ratio = t_wasmi / t_host)
thr = {w: {k: t(f"throughput/{w}", k) for k in ("host", "wasmi", "wasmi_fuel", "wasm3", "pulley", "cranelift")} for w in W}
host_vs_raw = [thr[w]["wasmi"] / thr[w]["host"] for w in W if thr[w]["host"] and thr[w]["wasmi"]]
g = geomean(host_vs_raw)
rows.append((
    "Host throughput ≥ 0.90× raw wasmi without fuel",
    (f"geomean {g:.2f}× (" + ", ".join(f"{w} {thr[w]['wasmi'] / thr[w]['host']:.2f}×" for w in W if thr[w]['host'] and thr[w]['wasmi']) + ")") if g else "not measured",
    *ic_row([ic_ratio(ic("throughput-wasmi", w), ic("throughput-host", w)) for w in W], lambda xs: min(xs) >= 0.90,
            lambda xs: f"geomean {geomean(xs):.2f}× (" + ", ".join(f"{w} {x:.2f}×" for w, x in zip(W, xs)) + ")"),
    None if g is None else min(host_vs_raw) >= 0.90,
))
for peer, label in (("wasm3", "wasm3"), ("pulley", "wasmtime Pulley")):
    xs = [thr[w][peer] / thr[w]["host"] for w in W if thr[w]["host"] and thr[w][peer]]
    gp = geomean(xs)
    rows.append((
        f"Host throughput ahead of {label}",
        (f"{label} time / host time: geomean {gp:.2f}× (" + ", ".join(f"{w} {thr[w][peer] / thr[w]['host']:.2f}×" for w in W if thr[w]['host'] and thr[w][peer]) + ")") if gp else f"not measured ({label} not built)",
        "—", None, None if gp is None else min(xs) > 1.0,
    ))

rt_host, rt_raw, rt_ext = t("roundtrip/1k", "host"), t("roundtrip/1k", "wasmi"), t("roundtrip/1k", "extism")
rows.append((
    "Invoke round trip ≤ 1.5× raw wasmi",
    f"{rt_host / rt_raw:.2f}× ({fmt_ns(rt_host)} vs {fmt_ns(rt_raw)})" if rt_host and rt_raw else "not measured",
    *ic_row([ic_ratio(ic("roundtrip-host"), ic("roundtrip-wasmi"))], lambda xs: xs[0] <= 1.5,
            lambda xs: f"{xs[0]:.2f}× ({ic('roundtrip-host')} vs {ic('roundtrip-wasmi')} instructions)"),
    None if not (rt_host and rt_raw) else rt_host / rt_raw <= 1.5,
))
rows.append((
    "Invoke round trip ≥ 5× faster than Extism",
    f"{rt_ext / rt_host:.1f}× ({fmt_ns(rt_ext)} vs {fmt_ns(rt_host)})" if rt_host and rt_ext else "not measured (Extism not built)",
    "—", None, None if not (rt_host and rt_ext) else rt_ext / rt_host >= 5,
))
hc = "hostcall/fs_write64x1000"
hc_mem, hc_null, hc_raw = t(hc, "host_memfs"), t(hc, "host_nullfs"), t(hc, "wasmi_copy")
rows.append((
    "Gated host call (fs_write 64 B, MemoryFilesystem) ≤ 3× raw wasmi host function",
    f"{hc_mem / hc_raw:.2f}× ({fmt_ns(hc_mem / 1000)} vs {fmt_ns(hc_raw / 1000)} per call)" if hc_mem and hc_raw else "not measured",
    *ic_row([ic_ratio(ic("hostcall-memfs"), ic("hostcall-raw"))], lambda xs: xs[0] <= 3,
            lambda xs: f"{xs[0]:.2f}× ({ic('hostcall-memfs') / 1000:.0f} vs {ic('hostcall-raw') / 1000:.0f} instructions per call)"),
    None if not (hc_mem and hc_raw) else hc_mem / hc_raw <= 3,
))
rows.append((
    "(same, null back-end: the host's gate only)",
    f"{hc_null / hc_raw:.2f}× ({fmt_ns(hc_null / 1000)} per call)" if hc_null and hc_raw else "not measured",
    *ic_row([ic_ratio(ic("hostcall-nullfs"), ic("hostcall-raw"))], lambda xs: xs[0] <= 3,
            lambda xs: f"{xs[0]:.2f}× ({ic('hostcall-nullfs') / 1000:.0f} instructions per call)"),
    None if not (hc_null and hc_raw) else hc_null / hc_raw <= 3,
))
load_ic = {a: ic_ratio(n, ic("load-wasmi", a)) for (c, a), n in sorted(icount.items()) if c == "load-host"}
load_ic = {a: x for a, x in load_ic.items() if x}
load_cases = sorted({k.split("/")[1] for k in est if k.startswith("load/")}, key=lambda n: (not n.startswith("gen"), sizes.get(n, 0)))
load_ratios = {n: t(f"load/{n}", "host") / t(f"load/{n}", "wasmi") for n in load_cases if t(f"load/{n}", "host") and t(f"load/{n}", "wasmi")}
gl = geomean(list(load_ratios.values()))
worst = max(load_ratios.items(), key=lambda kv: kv[1]) if load_ratios else None
rows.append((
    "Load ≤ 1.1× raw wasmi",
    f"geomean {gl:.2f}×, worst {worst[1]:.2f}× ({worst[0]})" if gl else "not measured",
    *ic_row(list(load_ic.values()), lambda xs: max(xs) <= 1.1,
            lambda xs: f"geomean {geomean(xs):.3f}×, worst {max(xs):.3f}× (bundled plugins)"),
    None if gl is None else max(load_ratios.values()) <= 1.1,
))

# ---- write ---------------------------------------------------------------------------------
L = []
p = L.append
p("# Performance")
p("")
p("Generated by `scripts/bench.sh` from a real run; do not edit by hand (rerun the script). "
  "Benchmarks live in `benches/` (their own cargo workspace); criterion medians, short measurement "
  f"windows (warm-up {env.get('BENCH_WARM_UP', '?')} s, measurement {env.get('BENCH_MEASUREMENT_TIME', '?')} s per benchmark).")
p("")
p("## Machine")
p("")
p(f"- CPU: {env.get('MACHINE_CPU', '?')}, {env.get('MACHINE_CORES', '?')} cores")
p(f"- rustc: {env.get('MACHINE_RUSTC', '?')}")
p(f"- date: {env.get('MACHINE_DATE', '?')}")
p(f"- load average at start / end of the run: {env.get('MACHINE_LOAD_START', '?')} / {env.get('MACHINE_LOAD_END', '?')}"
  " (a shared virtual machine: medians of the same benchmark move by 5–10% between runs, so "
  "ratios of neighbouring benchmarks are more reliable than absolute figures, and instruction counts "
  "more repeatable than either)")
p(f"- peers built: {', '.join(peers_built) if peers_built else 'none'}")
if peers_failed.strip():
    p(f"- peers not built: {peers_failed}")
p("")
p("## Targets")
p("")
p("Each target is judged on criterion's wall-clock medians and, where counted, on instruction counts "
  "per operation (callgrind, `scripts/icount.sh`: exact and repeatable, but blind to cache and branch "
  "effects). The whole-process rows are judged on CPU time and on the instructions each whole process "
  "executes (cachegrind; see \"Whole process\" below).")
p("")
p("| target | measured (time) | measured (instructions) | verdict |")
p("|---|---|---|---|")
for target_, measured, measured_ic, ok_ic, ok in rows:
    p(f"| {target_} | {measured} | {measured_ic} | {verdict(ok, ok_ic)} |")
p("")
p("## Throughput (compute, run only; compiled and instantiated once)")
p("")
p("Same module (`benches/guest`, no_std Rust → wasm32, 9 KB) on every engine. Host = `Host::invoke` "
  "(fuel on, eager translation: the default); wasmi = raw wasmi 2.0.0 with the host's `Config`, fuel off; wasmi_fuel = the same with fuel on. "
  "Ratios are peer time / host time (> 1: the host is faster).")
p("")
cols = ["host", "wasmi", "wasmi_fuel", "wasm3", "pulley", "cranelift"]
p("| workload | " + " | ".join(cols) + " | wasmi/host | wasmi_fuel/host | wasm3/host | pulley/host | cranelift/host |")
p("|---|" + "---|" * (len(cols) + 5))
for w in W:
    h = thr[w]["host"]
    ratios = [(thr[w][k] / h if (h and thr[w][k]) else None) for k in ("wasmi", "wasmi_fuel", "wasm3", "pulley", "cranelift")]
    p(f"| {w} | " + " | ".join(fmt_ns(thr[w][k]) for k in cols) + " | " + " | ".join(r(x) for x in ratios) + " |")
fuel_cost = [thr[w]["wasmi_fuel"] / thr[w]["wasmi"] for w in W if thr[w]["wasmi"] and thr[w]["wasmi_fuel"]]
if fuel_cost:
    p("")
    p(f"Fuel metering in raw wasmi costs {100 * (geomean(fuel_cost) - 1):+.1f}% (geomean; published figure ≈ 8%). "
      "Published CoreMark references: wasmi 2.0 ≈ 1.5× wasm3 and ≈ 1.6× Pulley. wasm3 = wasm3 0.5.0 through its "
      "C API, compiled from source by `scripts/bench.sh` (see the caveats at the end).")
p("")
p("## Whole process: the shipped CLI against wasmi's own CLI")
p("")
if whole:
    p("CPU time (user + system) of one whole process: start, read and compile the module, run one export "
      "with fuel metering on, exit. The same module (`benches/guest`, its long exports: `fib_long` = "
      "recursive fib(36), `sort_long` = `sort10k` 256 times, `sha_long` = `sha256_64k` 128 times, "
      "`xor_loop` = a load/xor/store loop over 64 KiB, 4,096 passes), the same fuel (`--fuel "
      "100000000000`). Each comparison runs A and B in alternating pairs (`benches/wholeproc.py`), "
      "every run pinned to one CPU; the ratio is the median of the pairs' A/B ratios, with the range "
      "over the pairs. The last column counts the instructions each process executes (cachegrind, one "
      "run each): exact, so it shows whether two processes do the same work where their times are "
      "within the machine's noise (the `shipped / shipped` rows: one binary against itself).")
    p("")
    p("- `wasmi_cli`: `cargo install wasmi_cli --version 2.0.0` (its published profile: fat LTO, one "
      "codegen unit; wasmi as published, without this project's patches), run as `wasmi run "
      "--compilation-mode eager --fuel N --invoke EXPORT guest.wasm`.")
    p("- shipped: `target/release/pluginhost` built with the root `Cargo.toml`'s release profile "
      "(fat LTO, one codegen unit) and `.cargo/config.toml` (functions aligned to 64 bytes), run as `pluginhost run guest.wasm --entry EXPORT --fuel N`. The "
      "host and wasmi's CLI both translate eagerly.")
    p("- default profile: the same CLI built with cargo's default release profile (no LTO, 16 codegen "
      "units) and without the function alignment of `.cargo/config.toml`: what shipped before.")
    p("- unpatched: the shipped profile, but the vendored wasmi without patch 0001 (the native-stack "
      "fix: the tree copied with 0001 reversed; `benches/target/unpatched`).")
    p("- control: wasmi's CLI 2.0.0 installed a second time with the same interpreter features "
      "(`stable`, `validate`, `memory64`, `auto-dispatch`) but without its WASI and wast support, which "
      "this module never reaches: the same interpreter code placed differently in another binary. Its "
      "ratio to the published build is how far code placement alone moves each workload, the scale "
      "against which the 1.02× target reads.")
    p("- compact code: the shipped CLI built with feature `compact-code` (wasmi's `indirect-dispatch`, "
      "the compact encoding the firmware ships for RAM: docs/footprint.md).")
    p("")
    p("| comparison (A / B) | workload | A median | B median | A/B (median of pairs) | range | A/B by instructions |")
    p("|---|---|---|---|---|---|---|")
    names = {"shipped-vs-wasmi-cli": "shipped / wasmi_cli", "default-profile-vs-wasmi-cli": "default profile / wasmi_cli",
             "patched-vs-unpatched": "shipped (patched wasmi) / unpatched wasmi",
             "control-vs-wasmi-cli": "control: wasmi_cli without WASI / wasmi_cli",
             "compact-vs-shipped": "compact code / shipped",
             "shipped-vs-shipped": "shipped / shipped (the machine's noise)"}
    for label in ("shipped-vs-wasmi-cli", "control-vs-wasmi-cli", "default-profile-vs-wasmi-cli",
                  "patched-vs-unpatched", "compact-vs-shipped", "shipped-vs-shipped"):
        for w in WHOLE_W:
            x = whole.get((label, w))
            i = wholeic.get((label, w))
            ic_text = f"{i[2]:.4f}× ({i[0]:,} / {i[1]:,})" if i else "—"
            if x:
                p(f"| {names[label]} | {w} | {x[0]:.3f} s | {x[1]:.3f} s | **{x[2]:.3f}×** | {x[3]:.3f}–{x[4]:.3f} | {ic_text} |")
else:
    p("Not measured in this run (`BENCH_WHOLE=0`).")
p("")
p("## The native-stack patch: throughput before and after")
p("")
if unpatched:
    p("The same criterion throughput benchmarks, run in the same `scripts/bench.sh` run against the "
      "vendored wasmi without patch 0001 (the tree copied with 0001 reversed, `benches/target/unpatched`) "
      "and against the patched wasmi this project ships (`vendor/README.md`: the `memory.grow`/`table.grow` "
      "handlers' work outlined so they dispatch by sibling call). Same profile, same machine, one after "
      "the other. The whole-process comparison above (`unpatched` rows) measures the same in the shipped "
      "profile.")
    p("")
    p("| workload | engine | before (unpatched) | after (patched) | after / before |")
    p("|---|---|---|---|---|")
    for w in W:
        for k in ("host", "wasmi", "wasmi_fuel"):
            a, b = t(f"throughput/{w}", k), unpatched.get(f"throughput/{w}/{k}")
            p(f"| {w} | {k} | {fmt_ns(b)} | {fmt_ns(a)} | {r(a / b, 3) if a and b else '—'} |")
else:
    p("Not measured in this run (`BENCH_WHOLE=0`).")
p("")
p("## Invoke round trip (1 KiB in, 1 KiB out)")
p("")
p("| engine | time | / raw wasmi |")
p("|---|---|---|")
for k in ("host", "wasmi", "wasmi_fuel", "extism"):
    v = t("roundtrip/1k", k)
    p(f"| {k} | {fmt_ns(v)} | {r(v / rt_raw) if v and rt_raw else '—'} |")
p("")
p("`host` = `Host::invoke(plugin, \"run\", 1 KiB)`; `wasmi` = raw wasmi with plain `input_read`/`output_write` "
  "host functions, input copied into the store and output taken out as a `Vec`, the `TypedFunc` looked up once; "
  "`extism` = `extism::Plugin::call` with a WAT guest using Extism's kernel ABI as extism-pdk does "
  "(`input_load_u64` loop, `alloc` + `store_u64` loop, `output_set`).")
p("")
p("## Gated host call (fs_write of 64 bytes, 1,000 calls per invocation)")
p("")
p("| variant | per invocation | per call | / raw |")
p("|---|---|---|---|")
for k in ("host_memfs", "host_nullfs", "wasmi_copy"):
    v = t(hc, k)
    p(f"| {k} | {fmt_ns(v)} | {fmt_ns(v / 1000) if v else '—'} | {r(v / hc_raw) if v and hc_raw else '—'} |")
p("")
for k, what in (("reparse_and_admit", "the whole check: `GuestPath::reparse` into the call's reused buffer + `Grant::admit_path`"),
                ("reparse", "`GuestPath::reparse` alone"), ("admit_path", "`Grant::admit_path` alone (3 prefixes)"),
                ("guestpath_parse", "`GuestPath::parse` (allocating; not on the call path, for reference)")):
    v = t("hostcall/check", k)
    p(f"- {what}: {fmt_ns(v)}")
p("")
p("`host_memfs`: capability check, `GuestPath::reparse` into a reused buffer, `Grant::admit_path` over 3 prefixes, bounds, fuel, "
  "counters, then `MemoryFilesystem::write` (which does no I/O, so no clock is read around it: "
  "`Filesystem::may_block`); `host_nullfs`: the same with a back-end that does nothing (and says so the same way); "
  "`wasmi_copy`: a raw wasmi host function with the same signature that bounds-checks and copies the 64 bytes "
  "into a `Vec`.")
p("")
if alloc_test:
    ok = "test result: ok" in alloc_test
    p(f"Allocation test (`benches/tests/alloc.rs`, counting global allocator): "
      f"{'passed' if ok else 'FAILED'} — `admit_path` makes zero heap allocations in 3,000 calls, "
      "`reparse` + `admit_path` zero in 4,000 checks, and a whole warm invocation making 1,000 gated "
      "`fs_write` calls zero; `GuestPath::parse` makes exactly one (the normalised string). "
      "The main test suite checks the same for admitted, denied, read and size calls "
      "(`tests/gate_allocation.rs`).")
    p("")
p("## Load (validate + compile + link + instantiate)")
p("")
p("Host = `Host::load` with a grant of every capability; wasmi = raw wasmi with the host's `Config` "
  "(eager translation, the default; fuel on, strict limits) and store limits, a new engine per load, a no-op function per import. "
  "`gen_*` are generated modules (≤ 9,000 functions with loops, loads, stores, branches, calls); `plugin_*` "
  "are the bundled plugins.")
p("")
p("| module | bytes | host | wasmi | host/wasmi | host MB/s |")
p("|---|---|---|---|---|---|")
for n in load_cases:
    h, w_ = t(f"load/{n}", "host"), t(f"load/{n}", "wasmi")
    s = sizes.get(n)
    mbps = f"{s / (h / 1e9) / 1e6:.1f}" if (s and h) else "—"
    p(f"| {n} | {s if s else '—'} | {fmt_ns(h)} | {fmt_ns(w_)} | {r(h / w_) if h and w_ else '—'} | {mbps} |")
p("")
p("## Memory per loaded plugin")
p("")
if mem:
    p("Live heap bytes after loading (average of 8 loads kept alive), counted by a global allocator; "
      "`beyond` = live − linear memory.")
    p("")
    p("| module | linear memory | host live | host beyond | wasmi live | wasmi beyond | host − wasmi |")
    p("|---|---|---|---|---|---|---|")
    by = {}
    for name, who, live, linear, beyond in mem:
        by.setdefault(name, {})[who] = (live, linear, beyond)
    for name, d in by.items():
        h, w_ = d.get("host"), d.get("wasmi")
        if h and w_:
            p(f"| {name} | {h[1]} | {h[0]} | {h[2]} | {w_[0]} | {w_[2]} | {h[0] - w_[0]:+d} |")
else:
    p("Not measured in this run.")
p("")
p("## Instruction counts per operation (callgrind)")
p("")
if icount:
    p("`scripts/icount.sh`: `benches/examples/icount.rs` runs one operation n₁ and n₂ times under "
      "callgrind; the difference of the totals over n₂ − n₁ is the count per operation (setup cancels out).")
    p("")
    p("| operation | host | raw wasmi | host / raw | raw wasmi with fuel |")
    p("|---|---|---|---|---|")
    for w in W:
        h, raw, rf = ic("throughput-host", w), ic("throughput-wasmi", w), ic("throughput-wasmi_fuel", w)
        p(f"| throughput {w} | {h} | {raw} | {r(ic_ratio(h, raw), 3)} | {rf} |")
    h, raw = ic("roundtrip-host"), ic("roundtrip-wasmi")
    p(f"| round trip 1 KiB | {h} | {raw} | {r(ic_ratio(h, raw), 3)} | — |")
    for k in ("memfs", "nullfs"):
        h, raw = ic(f"hostcall-{k}"), ic("hostcall-raw")
        p(f"| fs_write 64 B × 1000 ({k}) | {h} | {raw} | {r(ic_ratio(h, raw), 3)} | — |")
    for (c, a), n in sorted(icount.items()):
        if c == "load-host":
            raw = ic("load-wasmi", a)
            p(f"| load plugin {a} | {n} | {raw} | {r(ic_ratio(n, raw), 3)} | — |")
else:
    p("Not counted in this run (valgrind missing or `scripts/icount.sh` not run).")
p("")
p("## All benchmarks (median, 95% CI of the median)")
p("")
p("| benchmark | median | CI low | CI high |")
p("|---|---|---|---|")
for k in sorted(est):
    m, lo, hi, _ = est[k]
    p(f"| {k} | {fmt_ns(m)} | {fmt_ns(lo)} | {fmt_ns(hi)} |")
p("")
prof_dir = target / "profiles"
profiles = sorted(prof_dir.glob("*.txt")) if prof_dir.exists() else []
notes = benches / "analysis.md"
if notes.exists():
    p(notes.read_text().rstrip())
    p("")
if profiles:
    p("## Callgrind profiles (instruction counts, top entries)")
    p("")
    for f in profiles:
        p(f"### {f.stem}")
        p("")
        p("```text")
        p(f.read_text().rstrip())
        p("```")
        p("")
missing = benches / "missing.md"
if missing.exists():
    p(missing.read_text().rstrip())
    p("")
out.write_text("\n".join(L) + "\n")
print(f"wrote {out}")
