"""Write an evaluation to a folder: ``report.html``, ``metrics.json`` and ``metrics.tsv``.

The figures depend on the omics: :data:`FIGURE_BUILDERS` maps ``Evaluation.omics`` to a
``"module:function"`` that returns the report parts (see
:func:`synthomics.report.microbiome_figures.microbiome_sections`); the page itself is
laid out by the generic :func:`synthomics.report.html.render_report`. A genotype
evaluation registers its own builder here and reuses everything else.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthomics.errors import InputError
from synthomics.io.atomic import atomic_path
from synthomics.metrics.results import Evaluation
from synthomics.report.files import write_metrics_json, write_metrics_tsv
from synthomics.report.html import render_report

FIGURE_BUILDERS: dict[str, str] = {
    "microbiome": "synthomics.report.microbiome_figures:microbiome_sections",
    "genotype": "synthomics.report.genotype_figures:genotype_sections",
}
"""Report-part builder per omics, imported on first use."""


def _builder(omics: str) -> Callable[[Evaluation], dict[str, Any]]:
    if omics not in FIGURE_BUILDERS:
        raise InputError(
            None,
            f"no report figures for omics {omics!r}",
            expected=f"one of {sorted(FIGURE_BUILDERS)}",
        )
    module, function = FIGURE_BUILDERS[omics].split(":")
    return getattr(importlib.import_module(module), function)


def render_html(evaluation: Evaluation, title: str | None = None) -> str:
    """The self-contained HTML report of ``evaluation`` as a string."""
    parts = _builder(evaluation.omics)(evaluation)
    return render_report(
        evaluation,
        parts["sections"],
        title=title or parts["title"],
        subtitle=parts["subtitle"],
        headline=parts["headline"],
        overview=parts["overview"],
    )


def write_report(
    evaluation: Evaluation, out_dir: str | os.PathLike[str], title: str | None = None
) -> dict[str, Path]:
    """Write ``report.html``, ``metrics.json`` and ``metrics.tsv`` into ``out_dir``.

    Parameters
    ----------
    evaluation
        What :func:`synthomics.metrics.evaluate` returned.
    out_dir
        Folder, created if needed; existing files of these names are replaced atomically.
    title
        Page title (default: "Synthetic microbiome evaluation").

    Returns
    -------
    dict
        ``{"html": ..., "json": ..., "tsv": ...}`` paths.

    Examples
    --------
    >>> from synthomics.metrics import evaluate  # doctest: +SKIP
    >>> from synthomics.report import write_report  # doctest: +SKIP
    >>> write_report(evaluate(test, synthetic, train=train), "eval/")  # doctest: +SKIP
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": write_metrics_json(evaluation, out / "metrics.json"),
        "tsv": write_metrics_tsv(evaluation, out / "metrics.tsv"),
    }
    page = render_html(evaluation, title)
    with atomic_path(out / "report.html") as tmp:
        tmp.write_text(page, encoding="utf-8")
    paths["html"] = out / "report.html"
    return paths
