#!/usr/bin/env python3
"""Renders a Grafana dashboard JSON into one PNG, from a Prometheus server's HTTP API, without Grafana.

Each panel of the dashboard is drawn where its gridPos puts it (24 columns), from its own PromQL targets,
queried over [start, end]: time series as lines (stacked where the panel stacks), stat and bargauge panels
as their last values. Template variables are replaced by "match everything" and $__rate_interval by the
given interval, as Grafana would with "All" selected. Legends follow the targets' legendFormat.

  render_dashboard.py DASHBOARD.json PROMETHEUS_URL START END OUT.png [--rate-interval 30s] [--step 5]
"""
import argparse
import datetime
import json
import re
import urllib.parse
import urllib.request

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.gridspec import GridSpec  # noqa: E402

UNITS = {"s": "s", "reqps": "req/s", "percentunit": "", "short": ""}


def query(prometheus, expr, start, end, step, instant=False):
    if instant:
        params = {"query": expr, "time": end}
        path = "/api/v1/query"
    else:
        params = {"query": expr, "start": start, "end": end, "step": step}
        path = "/api/v1/query_range"
    with urllib.request.urlopen(prometheus + path + "?" + urllib.parse.urlencode(params), timeout=30) as response:
        body = json.load(response)
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body}")
    return body["data"]["result"]


def substitute(expr, variables, rate_interval):
    expr = expr.replace("$__rate_interval", rate_interval)
    for name in sorted(variables, key=len, reverse=True):
        expr = expr.replace("$" + name, ".*")
    return expr


def legend(fmt, labels):
    text = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt or "")
    return text.strip() or ",".join(f"{k}={v}" for k, v in labels.items()) or "value"


def fmt_value(value, unit):
    if unit == "percentunit":
        return f"{value * 100:.1f}%"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:.3g}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dashboard")
    parser.add_argument("prometheus")
    parser.add_argument("start", type=float)
    parser.add_argument("end", type=float)
    parser.add_argument("out")
    parser.add_argument("--rate-interval", default="30s")
    parser.add_argument("--step", type=float, default=5)
    args = parser.parse_args()

    dashboard = json.load(open(args.dashboard))
    variables = [v["name"] for v in dashboard.get("templating", {}).get("list", [])]
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboard["panels"])

    plt.rcParams.update({"font.size": 8, "axes.titlesize": 9, "axes.titleweight": "bold", "legend.fontsize": 7})
    fig = plt.figure(figsize=(16, rows * 0.36))
    grid = GridSpec(rows, 24, figure=fig, hspace=1.6, wspace=1.2, top=0.965, bottom=0.03, left=0.04, right=0.99)
    when = datetime.datetime.fromtimestamp(args.end, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    fig.suptitle(f"{dashboard['title']} — rendered from Prometheus by scripts/render-dashboard.sh from the dashboard's "
                 f"own queries (not by Grafana), {when}", fontsize=10, y=0.993)
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            continue
        g = panel["gridPos"]
        ax = fig.add_subplot(grid[g["y"]:g["y"] + 1, :])
        ax.axis("off")
        ax.text(0, 0.2, panel["title"], fontsize=10, fontweight="bold", color="#444")

    for panel in panels:
        g = panel["gridPos"]
        ax = fig.add_subplot(grid[g["y"]:g["y"] + g["h"], g["x"]:g["x"] + g["w"]])
        ax.set_title(panel["title"], loc="left")
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "")
        stacked = panel.get("fieldConfig", {}).get("defaults", {}).get("custom", {}).get("stacking", {}).get("mode") == "normal"
        if panel["type"] == "timeseries":
            series = []
            for target in panel["targets"]:
                expr = substitute(target["expr"], variables, args.rate_interval)
                for result in query(args.prometheus, expr, args.start, args.end, args.step):
                    times = [datetime.datetime.fromtimestamp(float(t), datetime.timezone.utc) for t, _ in result["values"]]
                    values = [float(v) if v not in ("NaN", "+Inf", "-Inf") else float("nan") for _, v in result["values"]]
                    series.append((legend(target.get("legendFormat"), result["metric"]), times, values))
            if stacked and series:
                # Align on time for stacking; missing points count as 0, as Grafana's stacking does.
                axis = sorted({t for _, ts, _ in series for t in ts})
                stack = []
                for name, ts, vs in series:
                    by_time = dict(zip(ts, vs))
                    values = [by_time.get(t, 0.0) for t in axis]
                    stack.append([0.0 if v != v else v for v in values])  # NaN counts as 0 too
                ax.stackplot(axis, stack, labels=[s[0] for s in series], alpha=0.7)
            else:
                for name, ts, vs in series:
                    ax.plot(ts, vs, label=name, linewidth=1.2)
            if not series:
                ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="#888")
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
            ax.grid(True, alpha=0.3)
            if UNITS.get(unit, unit):
                ax.set_ylabel(UNITS.get(unit, unit))
            if unit == "percentunit":
                ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
            if series:
                ax.legend(loc="upper left", ncol=min(4, len(series)), fontsize=6, framealpha=0.7)
        else:
            items = []
            for target in panel["targets"]:
                expr = substitute(target["expr"], variables, args.rate_interval)
                for result in query(args.prometheus, expr, args.start, args.end, args.step, instant=True):
                    items.append((legend(target.get("legendFormat"), result["metric"]), float(result["value"][1])))
            if panel["type"] == "bargauge" and items:
                names = [n for n, _ in items]
                ax.barh(range(len(items)), [v for _, v in items], color="#5b8def")
                ax.set_yticks(range(len(items)), names)
                for i, (_, v) in enumerate(items):
                    ax.text(v, i, " " + fmt_value(v, unit), va="center")
                ax.invert_yaxis()
                ax.set_xlabel(UNITS.get(unit, unit))
            else:
                ax.axis("off")
                text = "\n".join(f"{fmt_value(v, unit)}  {n}" if len(items) > 1 else fmt_value(v, unit) for n, v in items)
                ax.text(0.5, 0.45, text or "no data", ha="center", va="center", transform=ax.transAxes,
                        fontsize=16 if len(items) <= 1 else 10, fontweight="bold", color="#2b5fd9")
    fig.savefig(args.out, dpi=72, bbox_inches="tight")


if __name__ == "__main__":
    main()
