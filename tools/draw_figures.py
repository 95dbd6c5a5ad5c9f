"""Draw the course figures in images/ (run: .venv/bin/python tools/draw_figures.py).

images/residual_blocks.png: the identity block and the convolutional block
side by side, main path in the middle, shortcut on the right.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

IMAGES = Path(__file__).resolve().parents[1] / "images"
# Okabe-Ito colour-blind-safe palette
CONV, BN, RELU, ADD = "#56B4E9", "#E69F00", "#009E73", "#CC79A7"


def box(ax: Axes, x: float, y: float, text: str, colour: str, width: float = 2.6) -> None:
    ax.add_patch(plt.Rectangle((x - width / 2, y - 0.3), width, 0.6, facecolor=colour, edgecolor="black", lw=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=9, color="black")


def arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float]) -> None:
    ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "color": "black", "lw": 1.2})


def draw_block(ax: Axes, title: str, stride: str, projection: bool) -> None:
    main = [
        (f"Conv2D 1x1, F1{stride}  (2a)", CONV),
        ("BatchNorm axis=3", BN),
        ("ReLU", RELU),
        ("Conv2D fxf same, F2  (2b)", CONV),
        ("BatchNorm axis=3", BN),
        ("ReLU", RELU),
        ("Conv2D 1x1, F3  (2c)", CONV),
        ("BatchNorm axis=3", BN),
    ]
    top = 10.0
    ax.text(0, top + 0.6, "input X", ha="center", fontsize=10, color="black")
    ys = [top - 1.0 * (i + 1) for i in range(len(main))]
    arrow(ax, (0, top + 0.45), (0, ys[0] + 0.3))
    for i, ((text, colour), y) in enumerate(zip(main, ys, strict=True)):
        box(ax, 0, y, text, colour)
        if i:
            arrow(ax, (0, ys[i - 1] - 0.3), (0, y + 0.3))
    y_add = ys[-1] - 1.2
    ax.add_patch(plt.Circle((0, y_add), 0.3, facecolor=ADD, edgecolor="black"))
    ax.text(0, y_add, "+", ha="center", va="center", fontsize=14, color="black")
    arrow(ax, (0, ys[-1] - 0.3), (0, y_add + 0.3))
    box(ax, 0, y_add - 1.0, "ReLU", RELU)
    arrow(ax, (0, y_add - 0.3), (0, y_add - 0.7))
    ax.text(0, y_add - 1.9, "output", ha="center", fontsize=10, color="black")
    arrow(ax, (0, y_add - 1.3), (0, y_add - 1.6))
    # shortcut
    sx = 3.4 if projection else 2.4
    ax.plot([0.15, sx], [top + 0.45, top + 0.45], color="black", lw=1.2)
    if projection:
        mid = (top + y_add) / 2
        ax.plot([sx, sx], [top + 0.45, mid + 0.8], color="black", lw=1.2)
        box(ax, sx, mid + 0.5, "Conv2D 1x1, F3, s (1)", CONV, width=1.9)
        box(ax, sx, mid - 0.3, "BatchNorm (1)", BN, width=1.9)
        ax.plot([sx, sx], [mid - 0.6, y_add], color="black", lw=1.2)
    else:
        ax.plot([sx, sx], [top + 0.45, y_add], color="black", lw=1.2)
        ax.text(sx + 0.15, (top + y_add) / 2, "identity\nshortcut", fontsize=9, color="black", va="center")
    arrow(ax, (sx, y_add), (0.3, y_add))
    ax.set_title(title, fontsize=11, color="black")
    ax.set_xlim(-1.8, 4.6)
    ax.set_ylim(y_add - 2.3, top + 1.1)
    ax.axis("off")


def main() -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 7), facecolor="white")
    draw_block(axes[0], "Identity block (same shape in and out)", "", projection=False)
    draw_block(axes[1], "Convolutional block (stride s, new channels)", ", stride s", projection=True)
    fig.suptitle("ResNet v1 bottleneck blocks: the shortcut joins before the last ReLU", color="black")
    fig.tight_layout()
    IMAGES.mkdir(exist_ok=True)
    fig.savefig(IMAGES / "residual_blocks.png", dpi=80, facecolor="white")


if __name__ == "__main__":
    main()
