"""Generic report machinery: figures, a scorecard and a metrics table in one HTML file.

Nothing here knows about microbiomes. An omics module (e.g.
:mod:`synthomics.report.microbiome_figures`) turns an
:class:`~synthomics.metrics.results.Evaluation` into :class:`Section` objects holding
:class:`Figure` objects; :func:`render_report` lays them out after a one-screen overview
(scorecard per synthetic set and family, headline metrics with their real-vs-real floor)
and before the full metrics table (which-is-better arrows, floor, colour-coded status)
and the notes on subsampling. Figures are embedded as base64 PNG or inline SVG, so the
file is self-contained: it can be mailed or attached to a paper's supplement.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from synthomics.metrics.results import Evaluation, MetricResult
from synthomics.metrics.specs import FAMILIES, MetricSpec
from synthomics.report.verdict import set_verdicts

REAL_COLOUR = "#3b3b3b"
"""Colour of the real data in every figure."""

SET_COLOURS: tuple[str, ...] = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
)
"""Colours of the synthetic sets, in input order (matplotlib's tab10 without grey)."""

STATUS_LABEL = {
    "pass": "pass",
    "warn": "borderline",
    "fail": "fail",
    "info": "",
    "n/a": "n/a",
    "error": "error",
}


def set_colours(set_names: Sequence[str]) -> dict[str, str]:
    """``{"real": REAL_COLOUR, set: colour, ...}``, stable across all figures of a report."""
    colours = {"real": REAL_COLOUR}
    for k, name in enumerate(set_names):
        colours[name] = SET_COLOURS[k % len(SET_COLOURS)]
    return colours


@dataclass
class Figure:
    """One embedded figure.

    Attributes
    ----------
    title
        Heading above the figure.
    image
        ``data:`` URI (PNG) or inline ``<svg>`` markup.
    caption
        What to look for, in one or two sentences (HTML: escape any data in it).
    wide
        Span the full page width (otherwise figures flow two per row on wide screens).
    """

    title: str
    image: str
    caption: str = ""
    wide: bool = True


@dataclass
class Section:
    """A titled group of figures (and optional HTML) in the report."""

    title: str
    figures: list[Figure] = field(default_factory=list)
    intro: str = ""
    html: str = ""
    anchor: str = ""


def figure_image(fig: Any, fmt: str = "png", dpi: int = 110) -> str:
    """Render a matplotlib figure to a ``data:`` URI (PNG) or inline SVG markup."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi, facecolor="white")
    if fmt == "svg":
        text = buffer.getvalue().decode("utf-8")
        return text[text.index("<svg") :]
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/{fmt};base64,{encoded}"


def format_value(value: float | None, spec: MetricSpec | None = None) -> str:
    """Compact number: 3 significant digits (p-values with 3 decimals), ``–`` for none."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if spec is not None and spec.name.endswith("_p") and spec.threshold is not None:
        return f"{value:.3f}"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.1f}"
    if magnitude >= 1e-4:
        return f"{value:.3g}"
    return f"{value:.1e}"


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _cell(record: MetricResult, spec: MetricSpec) -> str:
    title = spec.description
    if record.error:
        title = f"{record.status}: {record.error}"
    elif record.details:
        shown = ", ".join(
            f"{k} = {format_value(v) if isinstance(v, float) else v}"
            for k, v in list(record.details.items())[:8]
            if isinstance(v, int | float | str)
        )
        title = f"{spec.description}\n{shown}"
    text = format_value(record.value, spec) if record.status not in ("n/a",) else "n/a"
    if record.status == "error":
        text = "error"
    return f'<td class="v s-{record.status.replace("/", "")}" title="{_esc(title)}">{text}</td>'


def scorecard_html(evaluation: Evaluation, headline: Sequence[str]) -> str:
    """One row per synthetic set: verdict per family (:mod:`.verdict`), then the headline
    metrics."""
    specs = {s.name: s for s in evaluation.specs}
    colours = set_colours(evaluation.set_names)
    head = "".join(f"<th>{f.capitalize()}</th>" for f in FAMILIES)
    head += "".join(
        f'<th title="{_esc(specs[m].description)}">{_esc(specs[m].label)}'
        f' <span class="arrow">{_esc(specs[m].arrow)}</span></th>'
        for m in headline
        if m in specs
    )
    verdicts = set_verdicts(evaluation)
    rows = []
    for name in evaluation.set_names:
        records = evaluation.results[name]
        cells = []
        for verdict in verdicts[name].values():
            cells.append(
                f'<td class="fam s-{verdict.status}"><b>{verdict.rating}</b><br>'
                f'<span class="small">{verdict.detail}</span></td>'
            )
        by_name = {r.name: r for r in records}
        cells += [_cell(by_name[m], specs[m]) for m in headline if m in by_name]
        rows.append(
            f'<tr><th class="set"><span class="swatch" style="background:'
            f'{colours[name]}"></span>{_esc(name)}</th>{"".join(cells)}</tr>'
        )
    floor_cells = "".join('<td class="fam"></td>' for _ in FAMILIES)
    first = evaluation.results[evaluation.set_names[0]] if evaluation.set_names else []
    floor_by_name = {r.name: r.floor for r in first}
    floor_cells += "".join(
        f'<td class="v floor">{format_value(floor_by_name.get(m), specs[m])}</td>'
        for m in headline
        if m in specs
    )
    rows.append(
        f'<tr class="floorrow"><th class="set"><span class="swatch" style="background:'
        f'{REAL_COLOUR}"></span>real-vs-real floor</th>{floor_cells}</tr>'
    )
    return (
        f'<table class="scorecard"><thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def findings_html(evaluation: Evaluation, limit: int = 12) -> str:
    """Per synthetic set, the metrics that fail (then the borderline ones) with their floor."""
    specs = {s.name: s for s in evaluation.specs}
    colours = set_colours(evaluation.set_names)
    blocks = []
    for name in evaluation.set_names:
        records = evaluation.results[name]
        bad = [r for r in records if r.status == "fail"]
        bad += [r for r in records if r.status == "warn"]
        errors = [r for r in records if r.status == "error"]
        items = []
        for r in bad[:limit]:
            spec = specs[r.name]
            floor = ""
            if r.floor is not None:
                floor = f' <span class="small">floor {format_value(r.floor, spec)}</span>'
            items.append(
                f'<li><span class="chip s-{r.status}">{STATUS_LABEL[r.status]}</span> '
                f'<span title="{_esc(spec.description)}">{_esc(spec.label)}</span> '
                f"<b>{format_value(r.value, spec)}</b> {_esc(spec.arrow)}{floor}</li>"
            )
        if len(bad) > limit:
            items.append(f'<li class="small">… and {len(bad) - limit} more below</li>')
        for r in errors[:3]:
            items.append(
                f'<li><span class="chip s-error">error</span> {_esc(specs[r.name].label)}: '
                f'<span class="small">{_esc(r.error)}</span></li>'
            )
        if not items:
            items.append(
                '<li><span class="chip s-pass">pass</span> every judged metric is within '
                "tolerance of the real-vs-real floor</li>"
            )
        blocks.append(
            f'<div class="finding"><h3><span class="swatch" style="background:'
            f'{colours[name]}"></span>{_esc(name)}</h3><ul>{"".join(items)}</ul></div>'
        )
    return f'<div class="findings"><h3 class="ftitle">What fails</h3>{"".join(blocks)}</div>'


def metrics_table_html(evaluation: Evaluation) -> str:
    """Every metric: label, which is better, floor and each set's colour-coded value."""
    set_names = evaluation.set_names
    colours = set_colours(set_names)
    header = "".join(
        f'<th><span class="swatch" style="background:{colours[n]}"></span>{_esc(n)}</th>'
        for n in set_names
    )
    rows = []
    current = None
    floors = {r.name: r for r in evaluation.floor}
    for spec in evaluation.specs:
        if spec.group != current:
            current = spec.group
            rows.append(
                f'<tr class="group"><td colspan="{3 + len(set_names)}">'
                f"{_esc(spec.family)} · {_esc(current)}</td></tr>"
            )
        floor = floors.get(spec.name)
        floor_text = format_value(floor.value if floor else None, spec)
        floor_title = floor.error if floor is not None and floor.error else "real-vs-real floor"
        unit = f' <span class="unit">({_esc(spec.unit)})</span>' if spec.unit else ""
        cells = "".join(_cell(evaluation.result(n, spec.name), spec) for n in set_names)
        rows.append(
            f'<tr><td class="name" title="{_esc(spec.description)}">{_esc(spec.label)}{unit}'
            f'<div class="desc">{_esc(spec.description)}</div></td>'
            f'<td class="arrow">{_esc(spec.arrow)}</td>'
            f'<td class="v floor" title="{_esc(floor_title)}">{floor_text}</td>{cells}</tr>'
        )
    return (
        f'<table class="metrics"><thead><tr><th>metric</th><th>better</th><th>floor</th>'
        f"{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _figure_html(figure: Figure) -> str:
    image = (
        figure.image
        if figure.image.lstrip().startswith("<svg")
        else f'<img src="{figure.image}" alt="{_esc(figure.title)}">'
    )
    caption = f"<figcaption>{figure.caption}</figcaption>" if figure.caption else ""
    css = "fig wide" if figure.wide else "fig"
    return f'<figure class="{css}"><h3>{_esc(figure.title)}</h3>{image}{caption}</figure>'


def render_report(
    evaluation: Evaluation,
    sections: Sequence[Section],
    *,
    title: str,
    subtitle: str = "",
    headline: Sequence[str] = (),
    overview: Sequence[Figure] = (),
) -> str:
    """The whole self-contained HTML page.

    Parameters
    ----------
    evaluation
        What :func:`~synthomics.metrics.evaluate` returned.
    sections
        Figure sections, in order, after the overview.
    title, subtitle
        Page heading and the line under it (data sizes, settings); plain text.
    headline
        Metric names shown in the scorecard.
    overview
        Figures shown beside the scorecard (the one-screen view).
    """
    nav = "".join(
        f'<a href="#{s.anchor or _anchor(s.title)}">{_esc(s.title)}</a>' for s in sections
    )
    nav += '<a href="#metrics">All metrics</a><a href="#notes">Notes</a>'
    body = []
    for section in sections:
        figures = "".join(_figure_html(f) for f in section.figures)
        intro = f'<p class="intro">{section.intro}</p>' if section.intro else ""
        body.append(
            f'<section id="{section.anchor or _anchor(section.title)}">'
            f"<h2>{_esc(section.title)}</h2>{intro}{section.html}"
            f'<div class="figs">{figures}</div></section>'
        )
    notes = "".join(f"<li>{_esc(n)}</li>" for n in evaluation.notes)
    settings = "".join(
        f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in evaluation.settings.items()
    )
    timings = ", ".join(f"{_esc(k)} {v:.1f} s" for k, v in evaluation.timings.items() if v >= 0.05)
    overview_html = "".join(_figure_html(f) for f in overview)
    from synthomics import __version__

    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    legend = (
        '<p class="legend">One rule for every value: its excess over the real-vs-real '
        "floor is compared with a tolerance, the largest of the metric's absolute tolerance, "
        "its relative tolerance times the floor, and twice the standard error of two real "
        'samples (measured with the floor). <span class="chip s-pass">pass</span> excess '
        'within the tolerance <span class="chip s-warn">borderline</span> up to twice the '
        'tolerance <span class="chip s-fail">fail</span> beyond '
        '<span class="chip s-info">info</span> not judged '
        '<span class="chip s-na">n/a</span> not applicable. Arrows: ↓ lower is better, '
        "↑ higher is better, →x closer to x. Hover a value for its details.</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)}</title>
<style>{_CSS}</style></head>
<body>
<header><h1>{_esc(title)}</h1><p class="sub">{_esc(subtitle)}</p><nav>{nav}</nav></header>
<main>
<section id="overview" class="overview">
<div class="score">{scorecard_html(evaluation, headline)}{legend}</div>
<div class="ovrow"><div class="ovfigs">{overview_html}</div>{findings_html(evaluation)}</div>
</section>
{"".join(body)}
<section id="metrics"><h2>All metrics</h2>{legend}{metrics_table_html(evaluation)}</section>
<section id="notes"><h2>Notes</h2><ul class="notes">{notes}</ul>
<details><summary>Settings</summary><table class="settings">{settings}</table></details>
<p class="small">Computed in {timings}. synthomics {_esc(__version__)}, {stamp}.</p>
</section>
</main></body></html>
"""


def _anchor(title: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")


_CSS = """
:root{--pass:#e3f4e6;--pass-t:#17692f;--warn:#fff3cd;--warn-t:#7a5a00;--fail:#fde2e1;
--fail-t:#a4161a;--na:#f3f3f3;--ink:#1f2328;--muted:#646c76;--line:#e3e6ea}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,
Arial,sans-serif;color:var(--ink);background:#fafbfc}
header{background:#fff;border-bottom:1px solid var(--line);padding:14px 28px 8px}
h1{font-size:21px;margin:0 0 2px}
.sub{color:var(--muted);margin:0 0 6px}
nav a{margin-right:14px;color:#0b62c4;text-decoration:none;font-size:13px}
main{padding:10px 28px 40px;max-width:1680px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 18px;
margin:14px 0}
h2{font-size:17px;margin:2px 0 8px}
h3{font-size:14px;margin:0 0 4px;color:#333}
.overview .score{overflow-x:auto}
.ovrow{display:flex;gap:22px;flex-wrap:wrap;align-items:flex-start}
.ovfigs{flex:1 1 560px;min-width:0;max-width:1000px}
.findings{flex:1 1 340px;min-width:0}
.findings ul{list-style:none;padding:0;margin:2px 0 10px}
.findings li{margin:3px 0;font-size:13px}
.ftitle{font-size:14px;margin:0 0 6px}
.figs{display:flex;flex-wrap:wrap;gap:14px}
figure{margin:0;flex:1 1 480px;min-width:0}
figure.wide{flex-basis:100%}
figure img,figure svg{max-width:100%;height:auto;display:block}
figcaption{color:var(--muted);font-size:12.5px;margin-top:2px}
table{border-collapse:collapse}
.scorecard{width:100%;font-size:13.5px}
.scorecard th,.scorecard td{border:1px solid var(--line);padding:6px 8px;text-align:center}
.scorecard thead th{background:#f6f8fa;font-weight:600;font-size:12.5px}
.scorecard th.set{text-align:left;white-space:nowrap}
.scorecard td.fam{min-width:86px}
.floorrow th,.floorrow td{color:var(--muted);font-style:italic;background:#fbfbfb}
.metrics{width:100%;font-size:13px}
.metrics th,.metrics td{border-bottom:1px solid var(--line);padding:4px 8px}
.metrics thead th{position:sticky;top:0;background:#f6f8fa;text-align:center}
.metrics tr.group td{background:#f0f3f6;font-weight:600;font-size:12px;text-transform:
uppercase;letter-spacing:.03em;color:#444}
td.name{max-width:420px}
.desc{color:var(--muted);font-size:11.5px}
td.v{text-align:center;font-variant-numeric:tabular-nums;white-space:nowrap}
td.arrow,span.arrow{text-align:center;color:#555;font-weight:600}
td.floor{color:var(--muted)}
.unit{color:var(--muted);font-size:11.5px}
.s-pass{background:var(--pass);color:var(--pass-t)}
.s-warn{background:var(--warn);color:var(--warn-t)}
.s-fail{background:var(--fail);color:var(--fail-t);font-weight:600}
.s-na{background:var(--na);color:#999}
.s-error{background:var(--fail);color:var(--fail-t);font-style:italic}
.s-info{color:#444}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;
vertical-align:-1px}
.small{font-size:12px;color:var(--muted)}
.legend{font-size:12px;color:var(--muted);margin:8px 0}
.chip{padding:1px 6px;border-radius:3px;margin:0 2px}
.notes li{margin:3px 0}
.settings th{text-align:left;padding:2px 12px 2px 0;font-weight:500;color:var(--muted)}
.intro{color:#444;margin:0 0 8px;max-width:1100px}
"""
