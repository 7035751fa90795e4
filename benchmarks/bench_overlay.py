"""Benchmark: per-update kernel cost of the overlay chart (`RunsChart`) with 10 live runs of 100k points each, beside one run.

    .venv/bin/python benchmarks/bench_overlay.py [--quick]

Each run already holds N points of 'loss' and 'valid_loss' (N = 1k and 100k). One update is what the chart's flusher
does at most `rate_hz` times a second while every run trains: each live run has pushed 20 new steps (two terms each)
since the last message; the update is those pushes plus one `flush()` (decimation, rows, one message). Timed in this
process (the message is built and handed to the widget's comm; no browser). Prints the median and p90 per update,
and the ratios 10 runs / 1 run and 100k / 1k, which are the O(1) claims: cost grows with the number of live runs
(what changed), not with their length."""
import argparse, statistics, sys, time
from pathlib import Path
import numpy as np, pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gmwidgets.runschart import RunsChart


def build(n_runs:int, n_points:int) -> RunsChart:
    "A chart with `n_runs` runs of `n_points` steps each, everything already sent once."
    chart = RunsChart(rate_hz=1e6, idle_finalize_s=None)
    rng = np.random.default_rng(0)
    for k in range(n_runs):
        steps = np.arange(1, n_points + 1)
        loss = 3 * np.exp(-steps / n_points) + 0.1 * rng.random(n_points)
        chart.add(pd.DataFrame({'step': steps, 'loss': loss, 'valid_loss': loss + 0.05}), name=f"run {k}")
    chart.flush()
    return chart


def per_update(chart:RunsChart, n_points:int, updates:int, new:int=20) -> list[float]:
    "Milliseconds of each update: `new` steps pushed to every run, then one flush."
    feeds, out, step = list(chart.runs.values()), [], n_points
    for _ in range(updates):
        t = time.perf_counter()
        for _ in range(new):
            step += 1
            for f in feeds: f.push(step, loss=1.0 + 1 / step, valid_loss=1.1 + 1 / step)
        chart.flush()
        out.append((time.perf_counter() - t) * 1e3)
    return out


def p90(xs): return float(np.percentile(xs, 90))


def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--quick', action='store_true'); a = ap.parse_args()
    updates = 50 if a.quick else 300
    res = {}
    print(f"{'runs':>5} {'points/run':>11} {'median ms':>10} {'p90 ms':>8} {'ms per run':>11}")
    for n_runs in (1, 10):
        for n_points in (1_000, 100_000):
            chart = build(n_runs, n_points)
            per_update(chart, n_points, 10)  # warm up
            ms = per_update(chart, n_points + 200, updates)
            res[n_runs, n_points] = ms
            med = statistics.median(ms)
            print(f"{n_runs:>5} {n_points:>11,} {med:>10.2f} {p90(ms):>8.2f} {med / n_runs:>11.2f}")
            chart.close()
    m = {k: statistics.median(v) for k, v in res.items()}
    print(f"100k / 1k points, 1 run: {m[1, 100_000] / m[1, 1_000]:.2f}x;  10 runs: {m[10, 100_000] / m[10, 1_000]:.2f}x"
          "  (O(1) in run length: ~1x)")
    print(f"10 runs / 1 run at 100k points: {m[10, 100_000] / m[1, 100_000]:.2f}x  (every run live: ~10x at most)")


if __name__ == '__main__':
    main()
