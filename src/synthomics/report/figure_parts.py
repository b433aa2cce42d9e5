"""Figure pieces shared by the microbiome and genotype reports.

The matplotlib set-up (:func:`new_figure`, :func:`style_axes`), small layout helpers, and the
two figures that do not depend on the omics: the distance-to-closest-training-record curves
(:func:`dcr_figure`) and the augmentation curve (:func:`augmentation_figure`). The omics
builders only name what was measured (distance, score, features).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from synthomics.metrics.results import Evaluation
from synthomics.report.html import Figure, figure_image, format_value, set_colours


def new_figure(width: float, height: float) -> Any:
    """A matplotlib figure with constrained layout (no pyplot state)."""
    from matplotlib.figure import Figure as MplFigure

    return MplFigure(figsize=(width, height), layout="constrained")


def style_axes(ax: Any) -> None:
    """The report's axes style: no top/right spines, small ticks, a light grid."""
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.25, linewidth=0.6)


def metric_text(ev: Evaluation, set_name: str, metric: str, label: str) -> str:
    """``"<label> <value> (floor <floor>)"`` for a panel title."""
    record = ev.result(set_name, metric)
    floor = f" (floor {format_value(record.floor)})" if record.floor is not None else ""
    return f"{label} {format_value(record.value)}{floor}"


def grid_shape(n: int, max_cols: int = 3) -> tuple[int, int]:
    """Rows and columns of a panel grid for ``n`` panels."""
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def dcr_figure(ev: Evaluation, *, distance: str, record: str, records: str) -> Figure | None:
    """Cumulative distributions of the distance to the closest training record.

    Parameters
    ----------
    ev
        The evaluation (``figure_data["dcr"]``: set name -> distances; names that are not
        synthetic sets are the real held-out reference, drawn dashed).
    distance
        Name of the distance (``"Hellinger"``, ``"Hamming"``).
    record, records
        What a row is, singular and plural (``"sample"``/``"samples"``).
    """
    dcr = ev.figure_data.get("dcr")
    if not dcr:
        return None
    colours = set_colours(ev.set_names)
    fig = new_figure(5.6, 3.1)
    ax = fig.subplots()
    for name, values in dcr.items():
        v = np.sort(np.asarray(values, dtype=float))
        y = np.arange(1, len(v) + 1) / len(v)
        is_real = name not in colours
        ax.step(
            v,
            y,
            where="post",
            lw=2.2 if is_real else 1.5,
            color=colours["real"] if is_real else colours[name],
            ls="--" if is_real else "-",
            label=name,
        )
    ax.set_xlabel(f"{distance} distance to closest training {record}", fontsize=8)
    ax.set_ylabel("cumulative share", fontsize=8)
    top = max(float(np.max(v)) for v in dcr.values())
    ax.set_xlim(-0.02 * top, 1.02 * top)  # a jump at 0 (copies) stays visible
    ax.legend(fontsize=7.5, frameon=False, loc="lower right")
    style_axes(ax)
    return Figure(
        f"Distance to closest training {record} (DCR)",
        figure_image(fig),
        f"Dashed: real {records} the generator never saw. A synthetic curve left of it sits "
        f"closer to training {records} than new real {records} do; a jump at 0 means copies.",
        wide=False,
    )


def augmentation_figure(
    ev: Evaluation, *, score: str, score_label: str, features: str, log_x: bool = False
) -> Figure | None:
    """Test score with small real training sets, with and without each synthetic set.

    Parameters
    ----------
    ev
        The evaluation (``figure_data["augmentation"]``: set -> fractions and the
        ``<score>_real_only`` / ``<score>_with_synthetic`` curves; ``figure_data["trtr"]``).
    score
        Key of the score in the curves (``"auc"``, ``"accuracy"``).
    score_label
        Axis label of the score.
    features
        What the classifier was trained on, for the caption.
    log_x
        Logarithmic share axis.
    """
    aug = ev.figure_data.get("augmentation")
    if not aug:
        return None
    colours = set_colours(ev.set_names)
    fig = new_figure(5.2, 3.1)
    ax = fig.subplots()
    first = next(iter(aug.values()))
    fractions = 100 * np.asarray(first["fractions"])
    ax.plot(
        fractions,
        first[f"{score}_real_only"],
        color=colours["real"],
        lw=2,
        ls="--",
        marker="o",
        ms=4,
        label="real only",
    )
    for name, details in aug.items():
        ax.plot(
            fractions,
            details[f"{score}_with_synthetic"],
            color=colours[name],
            lw=1.5,
            marker="o",
            ms=4,
            label=f"+ {name}",
        )
    trtr = ev.figure_data.get("trtr", {}).get("logistic")
    if trtr:
        ax.axhline(trtr[score], color="#888", lw=0.8, ls=":", label="all real training")
    if log_x:
        ax.set_xscale("log")
        ax.set_xticks(fractions, [f"{f:g}" for f in fractions])
        from matplotlib.ticker import NullLocator

        ax.xaxis.set_minor_locator(NullLocator())  # the log axis' own labels overlap ours
    ax.set_xlabel("share of the real training set used (%)", fontsize=8)
    ax.set_ylabel(score_label, fontsize=8)
    ax.legend(fontsize=7.5, frameon=False)
    style_axes(ax)
    return Figure(
        f"Augmentation: predicting {ev.settings.get('label')!r}",
        figure_image(fig),
        f"Logistic regression on {features}, tested on the real test set. Lines above the "
        "dashed one mean the synthetic data add information.",
        wide=False,
    )
