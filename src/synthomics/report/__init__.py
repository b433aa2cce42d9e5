"""Reports of an evaluation: a self-contained ``report.html`` plus ``metrics.json``/``.tsv``.

>>> from synthomics.report import write_report  # doctest: +SKIP
>>> write_report(evaluation, "eval/")  # doctest: +SKIP

:mod:`.html` is the generic machinery (figures, scorecard, metrics table, page layout),
:mod:`.files` the machine-readable outputs, :mod:`.microbiome_figures` the microbiome
figures and :mod:`.writer` ties them together. Submodules are imported on first use.
"""

from __future__ import annotations

from synthomics._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "write_report": "writer",
    "render_html": "writer",
    "FIGURE_BUILDERS": "writer",
    "render_report": "html",
    "Figure": "html",
    "Section": "html",
    "figure_image": "html",
    "metrics_frame": "files",
    "write_metrics_json": "files",
    "write_metrics_tsv": "files",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


__all__ = sorted(_EXPORTS)  # names resolved lazily by __getattr__
