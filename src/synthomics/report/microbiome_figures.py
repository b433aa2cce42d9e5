"""Figures of the microbiome evaluation report, drawn from ``Evaluation.figure_data``.

Each function takes an :class:`~synthomics.metrics.results.Evaluation` and returns a
:class:`~synthomics.report.html.Figure` (or ``None`` when its data is absent). Real data
is always dark grey and each synthetic set keeps its colour in every figure
(:func:`~synthomics.report.html.set_colours`). Matplotlib is used through
:class:`matplotlib.figure.Figure` only (no pyplot state), so nothing leaks between
reports.
"""

from __future__ import annotations

import html
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
    "c2st_auc",
    "braycurtis_permanova_r2",
    "richness_wasserstein",
    "prevalence_pearson",
    "dcr_ratio",
    "exact_copies",
    "membership_inference_auc",
    "tstr_ratio_logistic",
)
"""Metrics shown in the scorecard at the top of the report."""


def pcoa_figure(ev: Evaluation) -> Figure | None:
    """Real and each synthetic set on the first two axes of one joint Bray-Curtis PCoA."""
    data = ev.figure_data.get("pcoa")
    if not data:
        return None
    colours = set_colours(ev.set_names)
    rows, cols = _grid(len(ev.set_names))
    fig = _new_figure(3.0 * cols + 0.4, 2.7 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)).ravel()
    real = data["coords"]["real"]
    explained = data["explained"]
    for ax, name in zip(axes, ev.set_names, strict=False):
        points = data["coords"][name]
        ax.scatter(real[:, 0], real[:, 1], s=7, c=colours["real"], alpha=0.45, lw=0, label="real")
        ax.scatter(points[:, 0], points[:, 1], s=7, c=colours[name], alpha=0.55, lw=0, label=name)
        ax.set_title(name, fontsize=10, color=colours[name], fontweight="bold")
        ax.text(
            0.02,
            0.02,
            _metric_text(ev, name, "pcoa_overlap", "overlap"),
            transform=ax.transAxes,
            fontsize=7.5,
            color="#333",
        )
        _style(ax)
    for ax in axes[len(ev.set_names) :]:
        ax.set_visible(False)
    for ax in axes[::cols]:
        ax.set_ylabel(f"PCo2 ({100 * explained[1]:.0f} %)", fontsize=8)
    for ax in axes[-cols:]:
        ax.set_xlabel(f"PCo1 ({100 * explained[0]:.0f} %)", fontsize=8)
    return Figure(
        "Bray-Curtis PCoA: real (grey) and synthetic",
        figure_image(fig),
        f"One ordination of {data['per_set']} samples per set. Synthetic points should "
        "cover the real cloud, neither collapsing into its centre nor leaving it.",
    )


def prevalence_figure(ev: Evaluation) -> Figure | None:
    """Per-taxon prevalence and mean abundance, synthetic against real, one column per set."""
    sets = ev.figure_data.get("sets")
    if not sets:
        return None
    colours = set_colours(ev.set_names)
    n = len(ev.set_names)
    fig = _new_figure(2.7 * n + 0.4, 5.2)
    axes = fig.subplots(2, n, squeeze=False)
    real = sets["real"]
    positive = np.concatenate([s["mean_abundance"][s["mean_abundance"] > 0] for s in sets.values()])
    eps = positive.min() / 2 if positive.size else 1e-12
    for k, name in enumerate(ev.set_names):
        ax = axes[0, k]
        ax.scatter(
            real["prevalence"], sets[name]["prevalence"], s=6, c=colours[name], alpha=0.6, lw=0
        )
        ax.plot([0, 1], [0, 1], color="#888", lw=0.8, ls="--")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(name, fontsize=10, color=colours[name], fontweight="bold")
        ax.text(
            0.03,
            0.9,
            _metric_text(ev, name, "prevalence_pearson", "r"),
            transform=ax.transAxes,
            fontsize=7.5,
        )
        ax.set_xlabel("real prevalence", fontsize=8)
        if k == 0:
            ax.set_ylabel("synthetic prevalence", fontsize=8)
        _style(ax)
        ax = axes[1, k]
        x = np.log10(real["mean_abundance"] + eps)
        y = np.log10(sets[name]["mean_abundance"] + eps)
        ax.scatter(x, y, s=6, c=colours[name], alpha=0.6, lw=0)
        lo, hi = min(x.min(), y.min()), max(x.max(), y.max())
        ax.plot([lo, hi], [lo, hi], color="#888", lw=0.8, ls="--")
        ax.text(
            0.03,
            0.9,
            _metric_text(ev, name, "log_mean_abundance_pearson", "r"),
            transform=ax.transAxes,
            fontsize=7.5,
        )
        ax.set_xlabel("real log10 mean rel. abundance", fontsize=8)
        if k == 0:
            ax.set_ylabel("synthetic log10 mean rel. ab.", fontsize=8)
        _style(ax)
    return Figure(
        "Prevalence and mean abundance per taxon",
        figure_image(fig),
        "Each point is a taxon. Points on the dashed diagonal are reproduced exactly; "
        "a marginal-only generator does well here, so read this with the structure metrics.",
    )


def _hist_overlay(
    ax: Any, values: dict[str, np.ndarray], colours: dict[str, str], bins: np.ndarray
) -> None:
    for name, v in values.items():
        v = np.asarray(v, dtype=float)
        v = v[np.isfinite(v)]
        if not v.size:
            continue
        weights = np.full(len(v), 1.0 / len(v))
        if name == "real":
            ax.hist(v, bins=bins, weights=weights, color=colours[name], alpha=0.25, label=name)
        ax.hist(
            v,
            bins=bins,
            weights=weights,
            histtype="step",
            lw=1.4,
            color=colours[name],
            label=None if name == "real" else name,
        )


def sparsity_figure(ev: Evaluation) -> Figure | None:
    """Per-sample share of zeros and richness, real (filled) and each set (lines)."""
    sets = ev.figure_data.get("sets")
    if not sets:
        return None
    colours = set_colours(ev.set_names)
    fig = _new_figure(9.5, 2.9)
    ax1, ax2 = fig.subplots(1, 2)
    zero = {k: 100 * v["zero_fraction"] for k, v in sets.items()}
    lo = min(float(np.min(v)) for v in zero.values())
    hi = max(float(np.max(v)) for v in zero.values())
    pad = max(0.5, 0.02 * (hi - lo))
    _hist_overlay(ax1, zero, colours, np.linspace(max(0.0, lo - pad), min(100.0, hi + pad), 41))
    ax1.set_xlabel("zeros per sample (%)", fontsize=8)
    ax1.set_ylabel("share of samples", fontsize=8)
    rich = {k: v["richness"] for k, v in sets.items()}
    top = max(float(np.max(v)) for v in rich.values())
    _hist_overlay(ax2, rich, colours, np.linspace(0, top + 1, min(50, int(top) + 2)))
    ax2.set_xlabel("richness (taxa present per sample)", fontsize=8)
    ax2.legend(fontsize=7.5, frameon=False)
    for ax in (ax1, ax2):
        _style(ax)
    return Figure(
        "Sparsity and richness",
        figure_image(fig),
        "Filled grey: real test samples; lines: synthetic sets. An independent-marginals "
        "sampler keeps the overall share of zeros but narrows the richness distribution.",
        wide=False,
    )


def alpha_figure(ev: Evaluation) -> Figure | None:
    """Violin plots of Shannon, Simpson and (with a tree) Faith PD per set."""
    sets = ev.figure_data.get("sets")
    if not sets:
        return None
    colours = set_colours(ev.set_names)
    indices = [("shannon", "Shannon (nats)"), ("simpson", "Gini-Simpson")]
    if "faith_pd" in sets["real"]:
        indices.append(("faith_pd", "Faith PD"))
    fig = _new_figure(3.2 * len(indices) + 0.3, 3.0)
    axes = np.atleast_1d(fig.subplots(1, len(indices)))
    names = ["real", *ev.set_names]
    for ax, (key, label) in zip(axes, indices, strict=True):
        data = [np.asarray(sets[n][key], dtype=float) for n in names]
        parts = ax.violinplot(data, showmedians=True, widths=0.8)
        for body, name in zip(parts["bodies"], names, strict=True):
            body.set_facecolor(colours[name])
            body.set_edgecolor(colours[name])
            body.set_alpha(0.55)
        for line in ("cmedians", "cmins", "cmaxes", "cbars"):
            parts[line].set_color("#333")
            parts[line].set_linewidth(0.8)
        ax.set_xticks(range(1, len(names) + 1), names, rotation=30, ha="right", fontsize=8)
        ax.set_title(label, fontsize=9.5)
        _style(ax)
    return Figure(
        "Alpha diversity",
        figure_image(fig),
        "Distributions per sample; the Wasserstein-1 and KS metrics compare each synthetic "
        "violin with the grey real one.",
        wide=False,
    )


def library_size_figure(ev: Evaluation) -> Figure | None:
    """Library sizes (read depth) of the sets given as counts."""
    sets = ev.figure_data.get("sets")
    if not sets:
        return None
    counted = {
        k: v["library_size"]
        for k, v in sets.items()
        if v.get("units") == "counts" and v.get("library_size") is not None
    }
    if not counted:
        return None
    colours = set_colours(ev.set_names)
    fig = _new_figure(4.8, 2.9)
    ax = fig.subplots()
    logs = {k: np.log10(np.clip(v, 1, None)) for k, v in counted.items()}
    lo = min(float(v.min()) for v in logs.values())
    hi = max(float(v.max()) for v in logs.values())
    _hist_overlay(ax, logs, colours, np.linspace(lo, hi + 1e-9, 40))
    ax.set_xlabel("log10 reads per sample", fontsize=8)
    ax.set_ylabel("share of samples", fontsize=8)
    ax.legend(fontsize=7.5, frameon=False)
    _style(ax)
    relative = [k for k, v in sets.items() if k not in counted]
    note = (
        f" Sets in relative units (no read depth): {html.escape(', '.join(relative))}."
        if relative
        else ""
    )
    return Figure(
        "Library sizes",
        figure_image(fig),
        "Read depth of the sets given as counts; all metrics use total-sum-scaled "
        "profiles, so depth matters only for what a downstream user does." + note,
        wide=False,
    )


def correlation_figure(ev: Evaluation) -> Figure | None:
    """Spearman correlation heatmaps of the most prevalent taxa, real and each set."""
    corr = ev.figure_data.get("correlation")
    if not corr or "real" not in corr:
        return None
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    real = corr["real"]
    distance = np.clip(1.0 - real, 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    order = (
        leaves_list(linkage(squareform(distance, checks=False), "average"))
        if len(real) > 2
        else np.arange(len(real))
    )
    names = ["real", *[n for n in ev.set_names if n in corr]]
    colours = set_colours(ev.set_names)
    fig = _new_figure(2.6 * len(names) + 0.8, 2.9)
    axes = np.atleast_1d(fig.subplots(1, len(names)))
    image = None
    for ax, name in zip(axes, names, strict=True):
        image = ax.imshow(
            corr[name][np.ix_(order, order)],
            cmap="RdBu_r",
            vmin=-1,
            vmax=1,
            interpolation="nearest",
        )
        title = (
            name
            if name == "real"
            else f"{name}\n" + _metric_text(ev, name, "correlation_difference", "mean |Δr|")
        )
        ax.set_title(title, fontsize=8.5, color=colours.get(name, "#333"))
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="Spearman r")
    return Figure(
        f"Taxon-taxon Spearman correlations ({len(real)} most prevalent taxa)",
        figure_image(fig),
        "Taxa in the order of a clustering of the real matrix. Blocks visible in the real "
        "heatmap and missing in a synthetic one are co-occurrence the generator lost.",
    )


def privacy_figure(ev: Evaluation) -> Figure | None:
    """Cumulative distributions of the Hellinger distance to the closest training sample."""
    return dcr_figure(ev, distance="Hellinger", record="sample", records="samples")


def utility_figure(ev: Evaluation) -> Figure | None:
    """Test AUC with small real training sets, with and without each synthetic set."""
    return augmentation_figure(ev, score="auc", score_label="test ROC AUC", features="CLR features")


def separation_html(ev: Evaluation) -> str:
    """Tables of the most separating features per synthetic set ("" when not computed)."""
    from html import escape

    data = (ev.figure_data or {}).get("separation")
    if not data or not data.get("sets"):
        return ""
    blocks = []
    for name, rows in data["sets"].items():
        body = "".join(
            f"<tr><td>{escape(r['feature'])}</td><td>{r['auc']:.2f}</td>"
            f"<td>{r['floor']:.2f}</td>"
            f"<td>{'higher' if r['synthetic_higher'] else 'lower'}</td></tr>"
            for r in rows
        )
        blocks.append(
            f"<h3>{escape(name)}</h3><table><thead><tr><th>feature</th><th>AUC</th>"
            f"<th>real vs real</th><th>synthetic values</th></tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )
    return "".join(blocks)


def microbiome_sections(ev: Evaluation) -> dict[str, Any]:
    """Everything the generic renderer needs for a microbiome evaluation.

    Returns
    -------
    dict
        ``title``, ``subtitle``, ``headline``, ``overview`` (figures beside the
        scorecard) and ``sections``.
    """
    s = ev.settings
    parts = [f"real test {s.get('n_test', 0):,} samples × {s.get('n_taxa', 0):,} taxa"]
    if s.get("n_train"):
        parts.append(f"train {s['n_train']:,}")
    parts.append(
        "synthetic " + ", ".join(f"{k} {v:,}" for k, v in s.get("n_synthetic", {}).items())
    )
    source = {"taxonomy": "built from taxonomy", "file": "phylogeny", "given": "given"}
    parts.append(
        f"tree: {source.get(s.get('tree_source'), 'yes')}" if s.get("tree") else "tree: none"
    )
    if s.get("label"):
        parts.append(f"label: {s['label']}")
    parts.append(f"compared at n = {s.get('n_fidelity', 0):,} per set · seed {s.get('seed')}")
    fidelity = [
        f
        for f in (
            prevalence_figure(ev),
            sparsity_figure(ev),
            alpha_figure(ev),
            library_size_figure(ev),
            correlation_figure(ev),
        )
        if f
    ]
    privacy = [f for f in (privacy_figure(ev),) if f]
    utility = [f for f in (utility_figure(ev),) if f]
    sections = [
        Section("Fidelity", fidelity, "Compared with real test samples the generator never saw.")
    ]
    separation = separation_html(ev)
    if separation:
        sections.insert(
            0,
            Section(
                "What separates synthetic from real",
                intro="The features that alone best tell each synthetic set from the real test "
                "samples: ROC AUC of that one feature (0.5: no difference, 1: full "
                "separation), beside the same feature between two real samples.",
                html=separation,
            ),
        )
    if privacy:
        sections.append(
            Section(
                "Privacy",
                privacy,
                "Compared with the training samples; held-out real samples "
                "show what an unseen person looks like.",
            )
        )
    if utility:
        sections.append(Section("Utility", utility))
    overview = [f for f in (pcoa_figure(ev),) if f]
    return {
        "title": "Synthetic microbiome evaluation",
        "subtitle": " · ".join(parts),
        "headline": HEADLINE,
        "overview": overview,
        "sections": sections,
    }
