"""Resident memory of a process, from Linux's /proc (current and peak)."""

from __future__ import annotations

from pathlib import Path


def memory_mb(pid: int | str = "self") -> dict[str, float]:
    """``rss_mb`` (VmRSS) and ``peak_rss_mb`` (VmHWM) of a process; empty if unavailable."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values["rss_mb" if key == "VmRSS" else "peak_rss_mb"] = round(
                int(rest.split()[0]) / 1024, 1
            )
    return values
