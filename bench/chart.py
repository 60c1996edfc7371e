"""The benchmark's chart: latency distributions per stage and tier (matplotlib, no display)."""

from __future__ import annotations

from pathlib import Path


def draw(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(14, 10))
    pkg = report["package"]

    ax = axes[0][0]
    stages = pkg["stages"]["1MP/jpeg"]["samples_ms"]
    names = ["decode", "preprocess", "forward", "postprocess", "draw", "encode", "model"]
    ax.boxplot([stages[n] for n in names], showfliers=False)
    ax.set_xticks(
        range(1, len(names) + 1),
        ["decode", "pre", "forward", "post", "draw", "encode\nPNG", "model\npath"],
    )
    ax.set_yscale("log")
    ax.set_title(f"1. package stages, 1 MP JPEG ({pkg['default_backend']})")
    ax.set_ylabel("ms (log)")

    ax = axes[0][1]
    engines = pkg["engines"]["engines"]
    labels = list(engines)
    ax.boxplot([engines[n]["samples_ms"] for n in labels], showfliers=False)
    ax.set_xticks(
        range(1, len(labels) + 1), [n.replace(" (", "\n(").replace(": ", ":\n") for n in labels]
    )
    ax.set_title(
        f"2. forward pass, same input (cv2.dnn / onnxruntime = "
        f"{pkg['engines']['cv2_over_ort']}x)"
    )
    ax.set_ylabel("ms")

    ax = axes[1][0]
    data, ticks = [], []
    for tier in ("space", "gateway"):
        for size in ("0.3MP", "1MP", "3MP"):
            for wire, block in report[tier][size]["wires"].items():
                data.append(block["samples_ms"])
                ticks.append(f"{'Space' if tier == 'space' else 'gateway'}\n{size}\n{wire}")
    ax.boxplot(data, showfliers=False)
    ax.set_xticks(range(1, len(ticks) + 1), ticks, fontsize=7)
    ax.set_yscale("log")
    ax.set_title("3-4. Space API and gateway end to end, JPEG, byte list vs base64")
    ax.set_ylabel("ms (log)")

    ax = axes[1][1]
    conc = report["concurrency"]
    levels = list(conc)
    ax.boxplot([conc[n]["samples_ms"] or [0] for n in levels], showfliers=False)
    ax.set_xticks(
        range(1, len(levels) + 1),
        [f"{n} client(s)\n{conc[n]['summary'].get('per_s', 0):.1f} img/s" for n in levels],
    )
    ax.set_title(f"5. concurrent clients, gateway ({report['gateway_compact_wire']}), 1 MP JPEG")
    ax.set_ylabel("ms per request")

    machine = report["machine"]
    fig.suptitle(
        f"make bench, {machine.get('Model name', '')}, {machine.get('nproc')} CPUs, "
        f"{report['started']}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
