"""Summaries of latency samples, and the plain-text table the benchmark prints."""

from __future__ import annotations

import numpy as np


def summarise(samples_ms: list[float], wall_s: float | None = None) -> dict:
    """Median, p95, mean (ms) and throughput (per second) of a list of latencies.

    Throughput is ``count / wall_s`` when the samples ran concurrently over ``wall_s``
    seconds, otherwise one over the mean (back-to-back runs on one thread)."""
    if not samples_ms:
        return {"n": 0}
    array = np.asarray(samples_ms, dtype=np.float64)
    mean = float(array.mean())
    per_s = len(array) / wall_s if wall_s else (1000.0 / mean if mean > 0 else float("inf"))
    return {
        "n": int(array.size),
        "median_ms": round(float(np.median(array)), 3),
        "p95_ms": round(float(np.percentile(array, 95)), 3),
        "mean_ms": round(mean, 3),
        "min_ms": round(float(array.min()), 3),
        "max_ms": round(float(array.max()), 3),
        "per_s": round(per_s, 2),
    }


def table(rows: list[list[str]], header: list[str]) -> str:
    """A left-aligned text table (first column) with right-aligned figures."""
    cells = [header] + rows
    widths = [max(len(str(r[i])) for r in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        parts = [str(row[0]).ljust(widths[0])]
        parts += [str(v).rjust(w) for v, w in zip(row[1:], widths[1:])]
        return "  ".join(parts)

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule] + [line(r) for r in rows])


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
