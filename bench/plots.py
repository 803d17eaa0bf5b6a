"""PNG plots of the open-loop runs: latency against offered load, one line per load."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def latency_plot(rows: list[dict[str, Any]], title: str, path: Path) -> Path:
    """p99 (solid) and p50 (dashed) latency against the offered rate, for every load in
    ``rows`` (a search's measurements, each with ``load``, ``offered_rate``, ``p50_ms``,
    ``p99_ms`` and ``sustained``); an unsustained rate is drawn as a cross."""
    import matplotlib

    matplotlib.use("Agg")  # no screen: draw into files only
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 5.5), dpi=100)
    loads = dict.fromkeys(row["load"] for row in rows)
    for number, load in enumerate(loads):
        points = sorted((r for r in rows if r["load"] == load), key=lambda r: r["offered_rate"])
        rates = [r["offered_rate"] for r in points]
        color = f"C{number % 10}"
        axes.plot(rates, [r["p99_ms"] for r in points], "-o", color=color, label=f"{load} p99")
        axes.plot(rates, [r["p50_ms"] for r in points], "--", color=color, alpha=0.6)
        failed = [r for r in points if not r["sustained"]]
        axes.plot(
            [r["offered_rate"] for r in failed],
            [r["p99_ms"] for r in failed],
            "x",
            color=color,
            markersize=10,
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("offered load (requests/s, open loop)")
    axes.set_ylabel("latency from intended send (ms): p99 solid, p50 dashed")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
