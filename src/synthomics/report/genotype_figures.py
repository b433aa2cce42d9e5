"""Figures of the genotype evaluation report, drawn from ``Evaluation.figure_data``.

LD decay curves, PCA overlays, allele-frequency scatters and Hamming distance histograms
(plus the distance to the closest training individual and the augmentation curve when
privacy and utility were computed). Real data is always dark grey and each synthetic set
keeps its colour in every figure (:func:`~synthomics.report.html.set_colours`); the
metric tables come from the generic renderer (:func:`synthomics.report.html.render_report`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthomics.metrics.results import Evaluation
from synthomics.report.figure_parts import augmentation_figure, dcr_figure
from synthomics.report.figure_parts import grid_shape as _grid
from synthomics.report.figure_parts import metric_text as _metric_text
from synthomics.report.figure_parts import new_figure as _new_figure
from synthomics.report.figure_parts import style_axes as _style
from synthomics.report.html import Figure, Section, figure_image, set_colours

HEADLINE: tuple[str, ...] = (
    "allele_frequency_pearson",
    "ld_decay_max_gap",
    "pca_pc1_wasserstein",
    "hamming_within_wasserstein",
    "exact_copies",
    "aats_train",
    "privacy_loss",
    "tstr_ratio_logistic",
)
"""Metrics shown in the scorecard at the top of the report."""


def ld_decay_figure(ev: Evaluation) -> Figure | None:
    """Mean r² against distance (log axis): real (grey, dashed) and each synthetic set."""
    data = ev.figure_data.get("ld")
    if not data:
        return None
    colours = set_colours(ev.set_names)
    fig = _new_figure(6.4, 3.4)
    ax = fig.subplots()
    x = np.asarray(data["centres"], dtype=float)
    ax.plot(
        x, data["real"], color=colours["real"], lw=2.4, ls="--", marker="o", ms=3.5, label="real"
    )
    for name in ev.set_names:
        if name in data:
            label = f"{name} ({_metric_text(ev, name, 'ld_decay_max_gap', 'max gap')})"
            ax.plot(x, data[name], color=colours[name], lw=1.6, marker="o", ms=3, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("distance between variants (bp, log scale)", fontsize=8)
    ax.set_ylabel("mean r²", fontsize=8)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, frameon=False)
    _style(ax)
    return Figure(
        "Linkage disequilibrium decay",
        figure_image(fig),
        "Mean r² of variant pairs on one chromosome, binned by distance. A generator "
        "that samples variants independently falls to the unlinked level (about 1/n) "
        "at every distance; the gap to the grey curve is the LD it lost.",
        wide=False,
    )


def pca_figure(ev: Evaluation) -> Figure | None:
    """Real individuals (grey) and each set projected on the real-fitted PC1/PC2."""
    data = ev.figure_data.get("pca")
    if not data:
        return None
    colours = set_colours(ev.set_names)
    names = [n for n in ev.set_names if n in data]
    rows, cols = _grid(len(names))
    fig = _new_figure(3.0 * cols + 0.4, 2.8 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)).ravel()
    real = np.asarray(data["real"])
    explained = data.get("explained", [0.0, 0.0])
    for ax, name in zip(axes, names, strict=False):
        points = np.asarray(data[name])
        ax.scatter(real[:, 0], real[:, 1], s=7, c=colours["real"], alpha=0.4, lw=0, label="real")
        ax.scatter(points[:, 0], points[:, 1], s=7, c=colours[name], alpha=0.55, lw=0, label=name)
        ax.set_title(name, fontsize=10, color=colours[name], fontweight="bold")
        ax.text(
            0.02,
            0.02,
            _metric_text(ev, name, "pca_pc1_wasserstein", "PC1 W1"),
            transform=ax.transAxes,
            fontsize=7.5,
            color="#333",
        )
        _style(ax)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    for ax in axes[::cols]:
        ax.set_ylabel(f"PC2 ({100 * explained[1]:.1f} %)", fontsize=8)
    for ax in axes[-cols:]:
        ax.set_xlabel(f"PC1 ({100 * explained[0]:.1f} %)", fontsize=8)
    axes[0].legend(fontsize=7, framealpha=0.85, loc="best", markerscale=2)
    return Figure(
        "Population structure: PCA of the real individuals (grey), synthetic projected",
        figure_image(fig),
        "Axes fitted on real individuals (Patterson scaling). Synthetic individuals should "
        "fill the same population clusters in the same proportions, not sit between them.",
    )


def allele_frequency_figure(ev: Evaluation) -> Figure | None:
    """ALT allele frequency per variant, synthetic against real, one panel per set."""
    data = ev.figure_data.get("allele_frequency")
    if not data:
        return None
    colours = set_colours(ev.set_names)
    names = [n for n in ev.set_names if n in data]
    rows, cols = _grid(len(names), 4)
    fig = _new_figure(2.7 * cols + 0.4, 2.7 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)).ravel()
    real = np.asarray(data["real"], dtype=float)
    for ax, name in zip(axes, names, strict=False):
        ax.scatter(real, data[name], s=4, c=colours[name], alpha=0.35, lw=0)
        ax.plot([0, 1], [0, 1], color="#888", lw=0.8, ls="--")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(name, fontsize=10, color=colours[name], fontweight="bold")
        ax.text(
            0.03,
            0.9,
            _metric_text(ev, name, "allele_frequency_pearson", "r"),
            transform=ax.transAxes,
            fontsize=7.5,
        )
        _style(ax)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    for ax in axes[::cols]:
        ax.set_ylabel("synthetic ALT frequency", fontsize=8)
    for ax in axes[-cols:]:
        ax.set_xlabel("real ALT frequency", fontsize=8)
    return Figure(
        "Allele frequencies per variant",
        figure_image(fig),
        "Each point is a variant; on the dashed diagonal the frequency is reproduced. "
        "Scatter around it at the real-vs-real level is sampling noise.",
        wide=False,
    )


def hamming_figure(ev: Evaluation) -> Figure | None:
    """Histograms of Hamming distances: real-real, synthetic-synthetic, real-synthetic."""
    data = ev.figure_data.get("hamming")
    if not data:
        return None
    colours = set_colours(ev.set_names)
    names = [n for n in ev.set_names if n in data]
    real = np.asarray(data["real"], dtype=float)
    values = [real] + [np.asarray(data[n][k]) for n in names for k in ("within", "between")]
    lo = min(float(v.min()) for v in values if v.size)
    hi = max(float(v.max()) for v in values if v.size)
    bins = np.linspace(lo, hi + 1e-9, 50)
    fig = _new_figure(9.6, 3.0)
    axes = fig.subplots(1, 2, sharex=True, sharey=True)
    for ax, kind, title in (
        (axes[0], "within", "within a set (synthetic-synthetic)"),
        (axes[1], "between", "between sets (real-synthetic)"),
    ):
        weights = np.full(len(real), 1.0 / max(len(real), 1))
        ax.hist(
            real, bins=bins, weights=weights, color=colours["real"], alpha=0.3, label="real-real"
        )
        for name in names:
            v = np.asarray(data[name][kind], dtype=float)
            ax.hist(
                v,
                bins=bins,
                weights=np.full(len(v), 1.0 / max(len(v), 1)),
                histtype="step",
                lw=1.5,
                color=colours[name],
                label=name,
            )
        ax.set_title(title, fontsize=9.5)
        ax.set_xlabel("Hamming distance (share of differing calls)", fontsize=8)
        _style(ax)
    axes[0].set_ylabel("share of pairs", fontsize=8)
    axes[1].legend(fontsize=7, frameon=False)
    return Figure(
        "Hamming distances between individuals",
        figure_image(fig),
        "Filled grey: pairs of real individuals. Left: a synthetic set too narrow or too "
        "diverse shifts away from it; right: real-synthetic pairs far to the left of the "
        "grey mass mean synthetic individuals sit close to real ones.",
    )


def hamming_dcr_figure(ev: Evaluation) -> Figure | None:
    """Cumulative distributions of the Hamming distance to the closest training individual."""
    return dcr_figure(ev, distance="Hamming", record="individual", records="individuals")


def accuracy_augmentation_figure(ev: Evaluation) -> Figure | None:
    """Test accuracy with small real training sets, with and without each synthetic set."""
    return augmentation_figure(
        ev, score="accuracy", score_label="test accuracy", features="dosages", log_x=True
    )


def genotype_sections(ev: Evaluation) -> dict[str, Any]:
    """Everything the generic renderer needs for a genotype evaluation.

    Returns
    -------
    dict
        ``title``, ``subtitle``, ``headline``, ``overview`` (figures beside the
        scorecard) and ``sections``, as
        :func:`~synthomics.report.microbiome_figures.microbiome_sections`.
    """
    s = ev.settings
    parts = [f"real test {s.get('n_test', 0):,} individuals × {s.get('n_variants', 0):,} variants"]
    if s.get("n_train"):
        parts.append(f"train {s['n_train']:,}")
    parts.append(
        "synthetic " + ", ".join(f"{k} {v:,}" for k, v in s.get("n_synthetic", {}).items())
    )
    if s.get("label"):
        parts.append(f"label: {s['label']}")
    parts.append(f"compared at n = {s.get('n_fidelity', 0):,} per set · seed {s.get('seed')}")
    fidelity = [
        f for f in (ld_decay_figure(ev), allele_frequency_figure(ev), hamming_figure(ev)) if f
    ]
    sections = [
        Section(
            "Fidelity",
            fidelity,
            "Compared with real test individuals the generator never saw, at equal numbers "
            "of individuals per set.",
        )
    ]
    privacy = [f for f in (hamming_dcr_figure(ev),) if f]
    if privacy:
        sections.append(
            Section(
                "Privacy",
                privacy,
                "Hamming distances to the training individuals; held-out real individuals "
                "show what an unseen person looks like.",
            )
        )
    utility = [f for f in (accuracy_augmentation_figure(ev),) if f]
    if utility:
        sections.append(Section("Utility", utility))
    overview = [f for f in (pca_figure(ev),) if f]
    return {
        "title": "Synthetic genotype evaluation",
        "subtitle": " · ".join(parts),
        "headline": HEADLINE,
        "overview": overview,
        "sections": sections,
    }
