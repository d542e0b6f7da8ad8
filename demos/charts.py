"""Charts a class can read from the back row: big type, few colours, labelled axes."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt  # noqa: E402

BLUE, ORANGE, GREEN, RED, GREY = "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#7f7f7f"
plt.rcParams.update(
    {
        "font.size": 15,
        "axes.titlesize": 18,
        "axes.labelsize": 15,
        "legend.fontsize": 13,
        "xtick.labelsize": 13,
        "ytick.labelsize": 13,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
    }
)


def figure(width: float = 11, height: float = 6.5):
    return plt.subplots(figsize=(width, height), dpi=100)


def save(fig, path: Path, subtitle: str | None = None) -> Path:
    if subtitle:
        fig.text(0.01, 0.01, subtitle, fontsize=11, color=GREY)
    fig.tight_layout(rect=(0, 0.04 if subtitle else 0, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def label_bars(ax, bars, fmt: str = "{:.0f}") -> None:
    for bar in bars:
        height = bar.get_height()
        ax.annotate(
            fmt.format(height),
            (bar.get_x() + bar.get_width() / 2, height),
            ha="center",
            va="bottom",
            fontsize=14,
            fontweight="bold",
            xytext=(0, 3),
            textcoords="offset points",
        )
