"""The figure of a sweep table (matplotlib): a metric's mean over seeds with its 95 % confidence band
(mean ± t₀.₉₇₅,ₙ₋₁ · s/√n over the n seeds that ran), as a line against one knob (one line per value of a
second, selector knob) or as a heat map of the mean over two knobs. A metric that has a floor, the same
measure taken on as many exact samples (``kl`` and ``kl_reference``), is drawn with it as a dashed line:
the floor is not offered as a metric of its own."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd

from explorer.render import MATPLOTLIB_LOCK

# Student's t 0.975 quantiles for 1…30 degrees of freedom; beyond, the normal 1.96
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
MAX_LINES = 8  # a second knob with more values than this is drawn as a heat map
FLOOR_SUFFIX = "_reference"  # the scenes' name for a metric measured on exact samples (its sampling floor)


def summary(table: pd.DataFrame, knobs: list[str], metric: str) -> pd.DataFrame:
    """Per grid point: mean, n (seeds that gave a finite value) and the half width of the 95 % band."""
    groups = table[table[metric].notna()].groupby(knobs, sort=False)[metric]
    out = groups.agg(["mean", "std", "count"]).reset_index()
    t = out["count"].map(lambda n: T975[n - 2] if 2 <= n <= 31 else (1.96 if n > 31 else np.nan))
    out["half_width"] = t * out["std"] / np.sqrt(out["count"])
    return out


def _numeric(table, knob) -> bool:
    return pd.api.types.is_numeric_dtype(table[knob]) and not pd.api.types.is_bool_dtype(table[knob])


def metric_columns(table: pd.DataFrame, knobs) -> list[str]:
    """The table's metric columns: all but the knobs, the seed, the error, the provenance columns and the
    floors of metrics that are there (drawn with their metric)."""
    from scenes.sweep import ERROR, PROVENANCE

    return [c for c in table.columns if c not in (*knobs, "seed", ERROR, *PROVENANCE)
            and not (c.endswith(FLOOR_SUFFIX) and c[: -len(FLOOR_SUFFIX)] in table)]


def default_metric(table: pd.DataFrame, knobs) -> str:
    """The metric drawn unless another is asked for: sliced_w2 where there is one, else the first."""
    metrics = metric_columns(table, knobs)
    if not metrics:
        raise ValueError("no run gave a metric to plot (see the error column)")
    return "sliced_w2" if "sliced_w2" in metrics else metrics[0]


def figure(table: pd.DataFrame, knobs: list[str], metric: str, log_knobs=(), title: str = ""):
    """The matplotlib Figure of ``metric`` over ``knobs`` (one or two); made without pyplot, so that threads
    (the app's sessions) may draw at once."""
    from matplotlib.figure import Figure

    if metric not in table:
        raise ValueError(f"no metric {metric!r} in the table; there are: {', '.join(metric_columns(table, knobs))}")
    stats = summary(table, list(knobs), metric)
    drawing = Figure(figsize=(6.4, 4.4), dpi=110)
    ax = drawing.add_subplot()
    if len(knobs) == 2 and not _numeric(table, knobs[0]) and _numeric(table, knobs[1]):
        knobs = knobs[::-1]  # the numeric knob along x, a line per value of the other
    x, *rest = knobs
    lines = not rest or (_numeric(table, x) and not _numeric(table, rest[0]) and table[rest[0]].nunique() <= MAX_LINES)
    if lines:
        floor = metric + FLOOR_SUFFIX
        floors = summary(table, list(knobs), floor) if floor in table and table[floor].notna().any() else None
        for label, group in (stats.groupby(rest[0], sort=False) if rest else [(None, stats)]):
            line, = ax.plot(group[x], group["mean"], marker="o", label=None if label is None else f"{rest[0]}={label}")
            ax.fill_between(group[x], group["mean"] - group["half_width"].fillna(0),
                            group["mean"] + group["half_width"].fillna(0), color=line.get_color(), alpha=0.25)
            if floors is not None:
                same = floors if label is None else floors[floors[rest[0]] == label]
                first = label is None or label == stats[rest[0]].iloc[0]
                ax.plot(same[x], same["mean"], linestyle="--", color=line.get_color(),
                        label="dashed: exact samples (floor)" if first else None)
        ax.set(xlabel=x, ylabel=f"{metric} (mean, 95 % band)")
        if x in log_knobs:
            ax.set_xscale("log")
        if rest or floors is not None:
            ax.legend()
    else:
        y = rest[0]
        grid = stats.pivot(index=y, columns=x, values="mean")
        heat = ax.imshow(grid.to_numpy(float), origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(grid.shape[1]), [f"{v:.3g}" if isinstance(v, float) else str(v) for v in grid.columns],
                      rotation=45)
        ax.set_yticks(range(grid.shape[0]), [f"{v:.3g}" if isinstance(v, float) else str(v) for v in grid.index])
        ax.set(xlabel=x, ylabel=y)
        drawing.colorbar(heat, ax=ax, label=f"{metric} (mean over seeds)")
    ax.set_title(title or f"{metric} over {' × '.join(knobs)}")
    drawing.tight_layout()
    return drawing


def plot(table: pd.DataFrame, knobs: list[str], metric: str, path, log_knobs=(), title: str = "") -> None:
    """Write the figure of ``metric`` over ``knobs`` (one or two) to ``path`` (.png, .svg or .pdf)."""
    with MATPLOTLIB_LOCK:  # matplotlib is not thread-safe (explorer.render)
        figure(table, knobs, metric, log_knobs, title).savefig(path)


def image(table: pd.DataFrame, knobs: list[str], metric: str, fmt: str = "png", log_knobs=(), title: str = "") -> bytes:
    """The figure as the bytes of a ``fmt`` file ("png", "svg" or "pdf"): the app's plot and downloads."""
    buffer = io.BytesIO()
    with MATPLOTLIB_LOCK:
        figure(table, knobs, metric, log_knobs, title).savefig(buffer, format=fmt)
    return buffer.getvalue()
