"""Report page of a spike-in benchmark: power and FDR curves beside a fidelity evaluation.

``summary`` is a table with one row per dataset, method, spiked log fold change (``lfc``,
0 for null cohorts) and cohort size ``n``, and the columns ``power``, ``fdr`` and
``null_p05_share`` (as written by ``benchmarks/spike_in.py``).

>>> html = render_spike_in_report(evaluation, summary)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from synthomics.metrics.results import Evaluation
from synthomics.report.figure_parts import new_figure, style_axes
from synthomics.report.html import Figure, Section, figure_image, render_report

LINE_STYLES = ("dotted", "dashed", "solid")
"""Cohort sizes from the smallest to the largest."""


def power_fdr_figure(summary: pd.DataFrame) -> Any:
    """Power (top) and observed FDR (bottom) against the spiked log fold change, one
    column per dataset, one colour per method, one line style per cohort size."""
    effects = summary[summary["lfc"] > 0]
    datasets = list(dict.fromkeys(effects["dataset"]))
    methods = list(dict.fromkeys(effects["method"]))
    sizes = sorted(effects["n"].unique())
    fig = new_figure(3.2 * max(1, len(datasets)) + 1.6, 5.2)
    axes = fig.subplots(2, max(1, len(datasets)), squeeze=False, sharex=True)
    colours = [f"C{k}" for k in range(len(methods))]
    for col, dataset in enumerate(datasets):
        for row, (value, label) in enumerate((("power", "power"), ("fdr", "observed FDR"))):
            ax = axes[row, col]
            style_axes(ax)
            part = effects[effects["dataset"] == dataset]
            for method, colour in zip(methods, colours, strict=True):
                for k, n in enumerate(sizes):
                    line = part[(part["method"] == method) & (part["n"] == n)].sort_values("lfc")
                    ax.plot(
                        line["lfc"],
                        line[value],
                        color=colour,
                        linestyle=LINE_STYLES[-len(sizes) + k] if len(sizes) <= 3 else "solid",
                        marker="o",
                        markersize=3,
                        label=f"{method}" if k == len(sizes) - 1 else None,
                    )
            if value == "fdr":
                ax.axhline(0.05, color="grey", linewidth=0.8, linestyle="--")
                ax.set_xlabel("spiked log fold change", fontsize=8)
            else:
                ax.set_title(dataset, fontsize=9)
            ax.set_ylim(-0.02, 1.02)
            if col == 0:
                ax.set_ylabel(label, fontsize=8)
    sizes_text = ", ".join(
        f"n={n} {s}" for n, s in zip(sizes, LINE_STYLES[-len(sizes) :], strict=False)
    )
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="outside right upper", fontsize=7, title=sizes_text, title_fontsize=6
    )
    return fig


def summary_table_html(summary: pd.DataFrame) -> str:
    """Null cohorts: share of unaffected taxa with p < 0.05, per dataset, n and method."""
    null = summary[summary["lfc"] == 0]
    if null.empty:
        return ""
    table = null.pivot_table(
        index=["dataset", "n"], columns="method", values="null_p05_share", dropna=False
    )
    head = "".join(f"<th>{m}</th>" for m in table.columns)
    rows = []
    for (dataset, n), row in table.iterrows():
        cells = "".join("<td></td>" if pd.isna(v) else f"<td>{v:.3f}</td>" for v in row.tolist())
        rows.append(f"<tr><th>{dataset}</th><th>{n}</th>{cells}</tr>")
    return (
        "<p>Null cohorts (no effects): share of taxa with p &lt; 0.05, nominal 0.05 "
        "(blank: the method gives no p-values).</p>"
        f'<table class="settings"><tr><th>dataset</th><th>n</th>{head}</tr>{"".join(rows)}'
        "</table>"
    )


def spike_in_section(summary: pd.DataFrame) -> Section:
    """The power and FDR curves and the null false-positive table, as a report section."""
    figure = Figure(
        "Power and false discovery rate",
        figure_image(power_fdr_figure(summary)),
        "Mean over replicate cohorts. The dashed grey line is the nominal FDR of 0.05; a "
        "method above it calls taxa that were not spiked (often taxa that only moved by "
        "renormalisation).",
    )
    return Section(
        "Differential abundance on spiked cohorts",
        [figure],
        "Cohorts simulated with known associations; each method tested every cohort.",
        html=summary_table_html(summary),
    )


def render_spike_in_report(
    evaluation: Evaluation, summary: pd.DataFrame, title: str = "Spike-in benchmark"
) -> str:
    """The evaluation report of ``evaluation`` with the spike-in section first."""
    from synthomics.report.microbiome_figures import microbiome_sections

    parts = microbiome_sections(evaluation)
    return render_report(
        evaluation,
        [spike_in_section(summary), *parts["sections"]],
        title=title,
        subtitle=parts["subtitle"],
        headline=parts["headline"],
        overview=parts["overview"],
    )
