#!/usr/bin/env python3
"""Tables and charts from the benchmarks' raw results; the measuring is done elsewhere (k6 scripts, the
engine-overhead harness, bench-cold-start.sh). Percentiles come from k6's summaries or from Python's statistics
module (linear interpolation between ranks, numpy's default); charts from matplotlib when it is importable
(the scripts run this with the matplotlib venv of scripts/lib/python.sh).

  bench_report.py sweep DIR --targets A,B          k6 sweep.js summaries in DIR -> tables, DIR/sweep.json, DIR/sweep.png
  bench_report.py conversation DIR --targets A,B   k6 conversation.js summaries -> per-turn table, ratios, DIR/conversation.png
  bench_report.py overhead RESULT.json...          engine-overhead results -> comparison and verdict (median over files)
  bench_report.py cold-start RUNS.tsv              bench-cold-start.sh's runs -> medians per variant
"""
import argparse
import glob
import json
import math
import os
import re
import statistics
import sys

NAN = float("nan")


def percentile(values, p):
    values = sorted(v for v in values if v is not None and math.isfinite(v))
    if not values:
        return NAN
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if 0 < p < 100 else (
        values[0] if p == 0 else values[-1])


def fmt(value, decimals=0):
    return "-" if value is None or not math.isfinite(value) else f"{value:.{decimals}f}"


def ratio(a, b, percent=False):
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)) or b == 0:
        return "-"
    return f"{100 * a / b:.1f}%" if percent else f"{a / b:.2f}x"


def grid(rows):
    """Names left, numbers right, so columns of figures line up by their last digit."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "".join("".join((f"{str(c):<{widths[i]}}" if i == 0 else f"  {str(c):>{widths[i]}}")
                           for i, c in enumerate(row)) + "\n" for row in rows)


def matplotlib():
    try:
        import matplotlib as mpl
        mpl.use("Agg")
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        print("(matplotlib is not installed for this Python: no chart)", file=sys.stderr)
        return None


# --- k6 summaries ---------------------------------------------------------------------------------------------

def metric(summary, name, stat=None):
    """A value from a k6 summary; counters without samples are absent there and count as 0."""
    values = summary["metrics"].get(name)
    if values is None:
        return 0.0 if stat in (None, "count") and name in COUNTERS else NAN
    return values.get(stat or "count", NAN)


COUNTERS = {"ok", "shed", "errors", "not_sent", "output_tokens", "tokens_from_usage"}


def load(directory, pattern):
    return [json.load(open(f)) for f in sorted(glob.glob(os.path.join(directory, pattern)))]


def ordered(summaries, targets):
    order = {t: i for i, t in enumerate(targets)} if targets else {}
    return sorted(summaries, key=lambda s: (order.get(s["target"], len(order)), s["target"]))


# --- sweep ---------------------------------------------------------------------------------------------------

def level(s):
    """What one sweep.js run measured, flattened: the figures the tables, the JSON and the chart share."""
    wall = (metric(s, "ended_at", "max") - metric(s, "started_at", "min")) / 1000
    ok = metric(s, "ok")
    tokens = metric(s, "output_tokens")
    row = {k: s.get(k) for k in ("target", "url", "model", "api", "max_tokens", "extra", "concurrency", "rate", "arrival", "sent")}
    row.update({
        "ok": int(ok), "shed": int(metric(s, "shed")), "errors": int(metric(s, "errors")), "not_sent": int(metric(s, "not_sent")),
        "wall_s": wall, "req_per_s": ok / wall if wall > 0 else NAN, "output_tokens": int(tokens),
        "output_tokens_per_s": tokens / wall if wall > 0 else NAN, "tokens_per_request": tokens / ok if ok else NAN,
        "tokens_from": "usage" if ok and metric(s, "tokens_from_usage") == ok else "chunks" if ok else "none",
    })
    for name in ("ttft_ms", "itl_ms", "e2e_ms", "stream_tokens_per_s", "shed_ms"):
        row[name] = {stat: metric(s, name, key) for stat, key in
                     (("p50", "med"), ("p90", "p(90)"), ("p99", "p(99)"), ("mean", "avg"), ("max", "max"), ("n", "count"))}
    return row


def sweep(args):
    rows = [level(s) for s in ordered(load(args.dir, "*.summary.json"), args.targets)]
    if not rows:
        sys.exit(f"no *.summary.json in {args.dir}")
    closed = sorted((r for r in rows if r["concurrency"]), key=lambda r: r["concurrency"])
    rated = sorted((r for r in rows if r["rate"]), key=lambda r: r["rate"])
    targets = list(dict.fromkeys(r["target"] for r in rows))
    first = rows[0]
    out = [f"{first['api']} streams, max_tokens {first['max_tokens']}, temperature 0; times in ms\n"]
    for t in targets:
        r = next(r for r in rows if r["target"] == t)
        out.append(f"  {t:<14} {r['url']}  model {r['model']}{'  extra ' + json.dumps(r['extra']) if r['extra'] else ''}\n")
    d = lambda r, m, s, n=0: fmt(r[m][s], n)
    if closed:
        table = [["target", "conc", "ok", "shed", "err", "req/s", "out tok/s", "TTFT p50", "p90", "p99", "ITL p50", "p90",
                  "p99", "E2E p50", "p90", "p99", "tok/s/stream", "tok/req"]]
        for r in closed:
            table.append([r["target"], r["concurrency"], r["ok"], r["shed"], r["errors"], fmt(r["req_per_s"], 2),
                          fmt(r["output_tokens_per_s"], 1), d(r, "ttft_ms", "p50"), d(r, "ttft_ms", "p90"), d(r, "ttft_ms", "p99"),
                          d(r, "itl_ms", "p50", 1), d(r, "itl_ms", "p90", 1), d(r, "itl_ms", "p99", 1), d(r, "e2e_ms", "p50"),
                          d(r, "e2e_ms", "p90"), d(r, "e2e_ms", "p99"), d(r, "stream_tokens_per_s", "p50", 1),
                          fmt(r["tokens_per_request"], 1)])
        out.append("\nClosed loop (concurrency sweep)\n" + grid(table))
        if len(targets) > 1:
            base = targets[0]
            table = [["target", "conc", f"out tok/s vs {base}", f"tok/s/stream vs {base}", "TTFT p50 diff ms", f"E2E p50 vs {base}"]]
            for r in closed:
                b = next((x for x in closed if x["target"] == base and x["concurrency"] == r["concurrency"]), None)
                if r["target"] == base or b is None:
                    continue
                table.append([r["target"], r["concurrency"], ratio(r["output_tokens_per_s"], b["output_tokens_per_s"], True),
                              ratio(r["stream_tokens_per_s"]["p50"], b["stream_tokens_per_s"]["p50"], True),
                              fmt(r["ttft_ms"]["p50"] - b["ttft_ms"]["p50"], 1), ratio(r["e2e_ms"]["p50"], b["e2e_ms"]["p50"], True)])
            out.append("\nSide by side\n" + grid(table))
    if rated:
        table = [["target", "rate/s", "arrival", "sent", "ok", "shed", "err", "not sent", "req/s", "out tok/s", "TTFT p50", "p90",
                  "p99", "E2E p50", "p90", "p99", "shed p50", "shed max"]]
        for r in rated:
            table.append([r["target"], f"{r['rate']:.3g}", r["arrival"], r["sent"], r["ok"], r["shed"], r["errors"], r["not_sent"],
                          fmt(r["req_per_s"], 2), fmt(r["output_tokens_per_s"], 1), d(r, "ttft_ms", "p50"), d(r, "ttft_ms", "p90"),
                          d(r, "ttft_ms", "p99"), d(r, "e2e_ms", "p50"), d(r, "e2e_ms", "p90"), d(r, "e2e_ms", "p99"),
                          d(r, "shed_ms", "p50", 1), d(r, "shed_ms", "max", 1)])
        out.append("\nOpen loop (fixed arrival rate)\n" + grid(table))
    out.append("\nTTFT: request written to the first event with text. ITL: between events with text. E2E: to [DONE].\n"
               "out tok/s: tokens of finished requests / wall time; tok/s/stream: (tokens - 1) / (last - first event with text).\n"
               f"tokens: {', '.join(sorted(set(r['tokens_from'] for r in rows)))} (usage: the server's usage.completion_tokens).\n")
    print("".join(out), end="")
    with open(os.path.join(args.dir, "sweep.json"), "w") as f:
        json.dump({"sweep": closed, "rate": rated}, f, indent=1)
    print(f"JSON:  {os.path.join(args.dir, 'sweep.json')}")
    plt = matplotlib() if closed else None
    if plt:
        fig, axes = plt.subplots(2, 2, figsize=(11, 8))
        panels = [("ttft_ms", "time to first token (ms)"), ("e2e_ms", "end-to-end latency (ms)"),
                  ("output_tokens_per_s", "output tokens/s, all streams"), ("stream_tokens_per_s", "tokens/s per stream (p50)")]
        for ax, (name, title) in zip(axes.flat, panels):
            for i, t in enumerate(targets):
                rs = [r for r in closed if r["target"] == t]
                x = [r["concurrency"] for r in rs]
                colour = f"C{i}"
                if name in ("ttft_ms", "e2e_ms"):
                    ax.plot(x, [r[name]["p50"] for r in rs], "o-", color=colour, label=f"{t} p50")
                    ax.plot(x, [r[name]["p90"] for r in rs], "o--", color=colour, alpha=0.6, label=f"{t} p90")
                else:
                    ax.plot(x, [r[name] if name == "output_tokens_per_s" else r[name]["p50"] for r in rs], "o-", color=colour, label=t)
            ax.set_title(title)
            ax.set_xlabel("concurrent clients")
            ax.set_xscale("log", base=2)
            ax.set_xticks(sorted({r["concurrency"] for r in closed}), labels=[str(c) for c in sorted({r["concurrency"] for r in closed})])
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle(args.label or f"{first['api']} streams, max_tokens {first['max_tokens']}")
        fig.tight_layout()
        chart = os.path.join(args.dir, "sweep.png")
        fig.savefig(chart, dpi=100)
        print(f"Chart: {chart}")


# --- conversation --------------------------------------------------------------------------------------------

def conversation(args):
    summaries = ordered(load(args.dir, "*.summary.json"), args.targets)
    if not summaries:
        sys.exit(f"no *.summary.json in {args.dir}")
    builds = os.path.join(args.dir, "builds.txt")
    if os.path.exists(builds):
        print("Builds compared\n" + "".join(f"  {line}" for line in open(builds)) + "\n")
    first = summaries[0]
    print(f"{first['api']} API, {first['turns']} turns, max_tokens {first['max_tokens']}, temperature 0; "
          "times in ms (median over the conversations)\n")
    result = {}
    plt = matplotlib()
    levels = sorted({s["conversations"] for s in summaries})
    fig, axes = (plt.subplots(1, len(levels), figsize=(6 * len(levels), 4.5), squeeze=False) if plt else (None, None))
    for n, conversations in enumerate(levels):
        group = [s for s in summaries if s["conversations"] == conversations]
        base = group[0]
        turns = range(1, base["turns"] + 1)
        per_turn = lambda s, m, t: metric(s, f"{m}{{turn:{t}}}", "med")
        header = ["turn"] + [f"{s['target']} prompt tok" for s in group[:1]] \
            + [f"{s['target']} TTFT" for s in group] + [f"cached ({s['target']})" for s in group] \
            + [f"{base['target']} / {s['target']}" for s in group[1:]]
        table = [header]
        for t in turns:
            table.append([t, fmt(per_turn(base, "prompt_tokens", t))] + [fmt(per_turn(s, "ttft_ms", t)) for s in group]
                         + [fmt(per_turn(s, "cached_tokens", t)) for s in group]
                         + [ratio(per_turn(base, "ttft_ms", t), per_turn(s, "ttft_ms", t)) for s in group[1:]])
        table.append(["total"] + [""] + [fmt(metric(s, "conversation_ms", "med")) for s in group] + ["" for _ in group]
                     + [ratio(metric(base, "conversation_ms", "med"), metric(s, "conversation_ms", "med")) for s in group[1:]])
        print(f"{conversations} concurrent conversation{'s' if conversations > 1 else ''}: time to first token per turn\n"
              + grid(table))
        print("  total: one conversation from its first request to its last answer (median over the conversations)\n")
        result[str(conversations)] = {s["target"]: {
            "ttft_ms": [per_turn(s, "ttft_ms", t) for t in turns], "e2e_ms": [per_turn(s, "e2e_ms", t) for t in turns],
            "prompt_tokens": [per_turn(s, "prompt_tokens", t) for t in turns],
            "cached_tokens": [per_turn(s, "cached_tokens", t) for t in turns],
            "conversation_ms": metric(s, "conversation_ms", "med"), "url": s["url"], "extra": s["extra"]} for s in group}
        if plt:
            ax = axes[0][n]
            for i, s in enumerate(group):
                ax.plot(list(turns), [per_turn(s, "ttft_ms", t) for t in turns], "o-", color=f"C{i}", label=s["target"])
            ax.set_title(f"{conversations} concurrent conversation{'s' if conversations > 1 else ''}")
            ax.set_xlabel("turn")
            ax.set_xticks(list(turns))
            ax.set_ylabel("time to first token (ms)")
            ax.set_yscale("log")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    with open(os.path.join(args.dir, "conversation.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(f"JSON:  {os.path.join(args.dir, 'conversation.json')}")
    if plt:
        fig.tight_layout()
        fig.savefig(os.path.join(args.dir, "conversation.png"), dpi=100)
        print(f"Chart: {os.path.join(args.dir, 'conversation.png')}")


# --- engine overhead -----------------------------------------------------------------------------------------

MIN_TOKENS_RATIO = 0.95  # issue #6: the function delivers at least 95% of the binding's single-stream tokens/s
MAX_TTFT_DIFF_MS = 10    # and its time to first token is within 10 ms of the binding's


def side(samples):
    tokens = [s["tokens"] for s in samples]
    return {
        "tokens_per_request": statistics.mean(tokens),
        "ttft_ms": percentile([s["ttftMs"] for s in samples], 50),
        "stream_tokens_per_s": percentile([(s["tokens"] - 1) / (s["decodeMs"] / 1000) for s in samples
                                           if s["tokens"] > 1 and s["decodeMs"] > 0], 50),
        "request_tokens_per_s": statistics.mean(tokens) / percentile([s["e2eMs"] for s in samples], 50) * 1000,
        "itl_ms": percentile([g for s in samples for g in s["itlMs"]], 50),
        "e2e_ms": percentile([s["e2eMs"] for s in samples], 50),
    }


def overhead(args):
    rounds = []
    for path in args.results:
        result = json.load(open(path))
        b = side([s for s in result["samples"] if s["side"] == "binding"])
        f = side([s for s in result["samples"] if s["side"] == "function"])
        c = {"binding": b, "function": f, "tokens_ratio": f["stream_tokens_per_s"] / b["stream_tokens_per_s"],
             "request_tokens_ratio": f["request_tokens_per_s"] / b["request_tokens_per_s"], "ttft_diff_ms": f["ttft_ms"] - b["ttft_ms"]}
        rounds.append(c)
        print(f"{path}: {result['requests']} requests per side, taking turns; {result['threads']} threads, {result['slots']} slots, "
              f"max_tokens {result['max_tokens']}, prompt cache {'on' if result['cache_prompt'] else 'off'}; function {result['function_url']}")
        rows = [["", "binding", "function", "function/binding"],
                ["tokens per request (mean)", fmt(b["tokens_per_request"], 1), fmt(f["tokens_per_request"], 1), ""],
                ["TTFT p50 (ms)", fmt(b["ttft_ms"], 1), fmt(f["ttft_ms"], 1), f"{c['ttft_diff_ms']:+.1f} ms"],
                ["single-stream tokens/s p50 (decode)", fmt(b["stream_tokens_per_s"], 1), fmt(f["stream_tokens_per_s"], 1),
                 f"{100 * c['tokens_ratio']:.1f}%"],
                ["tokens/s incl. prefill (tok/E2E p50)", fmt(b["request_tokens_per_s"], 1), fmt(f["request_tokens_per_s"], 1),
                 f"{100 * c['request_tokens_ratio']:.1f}%"],
                ["inter-token p50 (ms)", fmt(b["itl_ms"], 2), fmt(f["itl_ms"], 2), ""],
                ["end-to-end p50 (ms)", fmt(b["e2e_ms"], 1), fmt(f["e2e_ms"], 1), ""]]
        print(grid(rows), end="")
        if abs(b["tokens_per_request"] - f["tokens_per_request"]) > 0.5:
            print("warning: the two sides produced different token counts: they did not generate the same text")
    tokens = statistics.median(r["tokens_ratio"] for r in rounds)
    ttft = statistics.median(r["ttft_diff_ms"] for r in rounds)
    print(f"\nfunction / binding{f', median of {len(rounds)} runs' if len(rounds) > 1 else ''}: single-stream tokens/s "
          f"{100 * tokens:.1f}% (target >= {100 * MIN_TOKENS_RATIO:.0f}%: {'met' if tokens >= MIN_TOKENS_RATIO else 'NOT MET'}), "
          f"TTFT p50 {ttft:+.1f} ms (target <= +{MAX_TTFT_DIFF_MS} ms: {'met' if ttft <= MAX_TTFT_DIFF_MS else 'NOT MET'})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rounds": rounds, "verdict": {"tokens_ratio": tokens, "tokens_met": tokens >= MIN_TOKENS_RATIO,
                                                     "ttft_diff_ms": ttft, "ttft_met": ttft <= MAX_TTFT_DIFF_MS}}, f, indent=1)


# --- cold start ----------------------------------------------------------------------------------------------

def cold_start(args):
    runs = {}
    with open(args.runs) as f:
        header = f.readline().split()
        for line in f:
            row = dict(zip(header, line.split()))
            runs.setdefault(row["variant"], []).append(row)
    num = lambda rows, key: [float(r[key]) for r in rows if r.get(key) not in (None, "", "-")]
    table = [["variant", "runs", "ready p50", "min-max", "1st token p50", "min-max", "CPU ms p50", "RSS MiB after warm-up p50"]]
    for variant, rows in runs.items():
        ready, first, cpu, rss = (num(rows, k) for k in ("ready_ms", "first_token_ms", "cpu_ms", "rss_mib"))
        span = lambda v: f"{min(v):.0f}-{max(v):.0f}" if v else "-"
        table.append([variant, len(rows), fmt(percentile(ready, 50)), span(ready), fmt(percentile(first, 50)), span(first),
                      fmt(percentile(cpu, 50)) if cpu else "-", fmt(percentile(rss, 50))])
    print(grid(table), end="")
    print("ready: process start to its readiness probe answering 200; 1st token: to the first streamed text of a request sent\n"
          "then; CPU: user + system time of the server's processes until that request ended; RSS: resident memory of the\n"
          "server's processes after the warm-up requests (all of them, for Ollama's runner).")
    # The machine's load drifts more between runs than the variants differ: the runs are interleaved, so the
    # difference within each run (the same minute of the machine) says more than the difference of the medians.
    pairs = [(v, "llama-server") for v in runs if not v.startswith(("llama-server", "ollama"))]
    pairs += [(v.replace("image-baseline", "image"), v) for v in runs if v.startswith("image-baseline")]
    by_run = lambda rows: {r["run"]: float(r["first_token_ms"]) for r in rows
                           if r.get("first_token_ms") not in (None, "", "-")}
    lines = []
    for variant, reference in pairs:
        if variant not in runs or reference not in runs:
            continue
        mine, theirs = by_run(runs[variant]), by_run(runs[reference])
        diffs = [mine[k] - theirs[k] for k in mine if k in theirs]
        if diffs:
            lines.append(f"  {variant} against {reference}: {percentile(diffs, 50):+.0f} ms (sooner in "
                         f"{sum(d < 0 for d in diffs)} of {len(diffs)} runs)")
    if lines:
        print("1st token, run by run (the median of the differences within each run):")
        print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    targets = lambda s: [t for t in s.split(",") if t]
    p = sub.add_parser("sweep")
    p.add_argument("dir")
    p.add_argument("--targets", type=targets, default=[], help="target order, the first the reference")
    p.add_argument("--label", default="")
    p = sub.add_parser("conversation")
    p.add_argument("dir")
    p.add_argument("--targets", type=targets, default=[], help="target order, the first the reference")
    p = sub.add_parser("overhead")
    p.add_argument("results", nargs="+")
    p.add_argument("--json", help="also write the comparison and verdict here")
    p = sub.add_parser("cold-start")
    p.add_argument("runs")
    args = parser.parse_args()
    {"sweep": sweep, "conversation": conversation, "overhead": overhead, "cold-start": cold_start}[args.command](args)


if __name__ == "__main__":
    main()
