"""Verdicts of an evaluation: per synthetic set and family, the best set, privacy failures.

The same verdicts head ``report.html`` (its scorecard) and end every command that evaluates
(:func:`print_verdict`, a rich table in the terminal).

Rating of a family (fidelity, privacy, utility) from the status of its judged metrics:
``good`` when none fails or is borderline; ``mixed`` when none fails or at most 15 % fail;
``poor`` otherwise; ``not assessed`` when no metric of the family could be judged (no
training set, no label...).

A set **fails privacy** when any of its privacy metrics fails (exact or near copies, DCR,
adversarial accuracy, membership inference). The **best set** is, among the sets that do
not fail privacy (all sets when every one does), the one with the largest share of judged
metrics that pass; ties go to fewer failures, then to the first set given.

>>> from synthomics.report.verdict import print_verdict  # doctest: +SKIP
>>> print_verdict(evaluation, "eval/report.html")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from synthomics.metrics.results import Evaluation, MetricResult
from synthomics.metrics.specs import FAMILIES

TERMINAL_HEADLINE: dict[str, str] = {
    "c2st_auc": "C2ST",
    "allele_frequency_pearson": "AF r",
    "dcr_ratio": "DCR",
    "membership_inference_auc": "MIA",
    "tstr_ratio_logistic": "TSTR",
}
"""Metrics shown beside the verdicts in the terminal (those the evaluation has), short names.

Few enough to fit 80 columns; exact copies show in the verdict line when they fail."""

_JUDGED = ("pass", "warn", "fail")


@dataclass(frozen=True)
class FamilyVerdict:
    """The rating of one family of metrics for one synthetic set.

    Attributes
    ----------
    rating
        ``"good"``, ``"mixed"``, ``"poor"`` or ``"not assessed"`` (module docstring).
    status
        The status colour of the rating: ``"pass"``, ``"warn"``, ``"fail"`` or ``"na"``.
    counts
        Number of metrics of each status (``pass``, ``warn``, ``fail``, ``n/a``, ``error``...).
    """

    rating: str
    status: str
    counts: dict[str, int]

    @property
    def judged(self) -> int:
        """Metrics with a pass/borderline/fail status."""
        return sum(self.counts.get(s, 0) for s in _JUDGED)

    @property
    def passed(self) -> int:
        """Metrics that pass."""
        return self.counts.get("pass", 0)

    @property
    def detail(self) -> str:
        """``"20/30 pass"`` (or ``"3 n/a"``), with ``", 1 error"`` when some failed to run."""
        if self.judged:
            text = f"{self.passed}/{self.judged} pass"
        else:
            text = f"{self.counts['n/a']} n/a" if self.counts.get("n/a") else ""
        if self.counts.get("error"):
            text += f", {self.counts['error']} error"
        return text


def status_counts(records: Sequence[MetricResult]) -> dict[str, int]:
    """Counts of each status among ``records``."""
    counts: dict[str, int] = {}
    for record in records:
        counts[record.status] = counts.get(record.status, 0) + 1
    return counts


def family_verdict(records: Sequence[MetricResult]) -> FamilyVerdict:
    """The rating of a family from the records of its metrics (module docstring)."""
    counts = status_counts(records)
    judged = sum(counts.get(s, 0) for s in _JUDGED)
    fails, warns = counts.get("fail", 0), counts.get("warn", 0)
    if judged == 0:
        return FamilyVerdict("not assessed", "na", counts)
    if fails == 0 and warns == 0:
        return FamilyVerdict("good", "pass", counts)
    if fails == 0 or fails / judged <= 0.15:
        return FamilyVerdict("mixed", "warn", counts)
    return FamilyVerdict("poor", "fail", counts)


def set_verdicts(evaluation: Evaluation) -> dict[str, dict[str, FamilyVerdict]]:
    """``{set: {family: FamilyVerdict}}`` for every synthetic set, families in order."""
    return {
        name: {
            family: family_verdict([r for r in evaluation.results[name] if r.family == family])
            for family in FAMILIES
        }
        for name in evaluation.set_names
    }


def privacy_failures(evaluation: Evaluation) -> dict[str, list[MetricResult]]:
    """``{set: [failing privacy records]}`` for the sets that fail privacy, in input order."""
    out = {}
    for name in evaluation.set_names:
        records = evaluation.results[name]
        failed = [r for r in records if r.family == "privacy" and r.status == "fail"]
        if failed:
            out[name] = failed
    return out


def best_set(evaluation: Evaluation) -> str | None:
    """The best synthetic set (module docstring), or ``None`` when nothing could be judged."""
    unsafe = privacy_failures(evaluation)
    candidates = [n for n in evaluation.set_names if n not in unsafe] or evaluation.set_names

    def score(name: str) -> tuple[float, int]:
        counts = status_counts(evaluation.results[name])
        judged = sum(counts.get(s, 0) for s in _JUDGED)
        share = counts.get("pass", 0) / judged if judged else -1.0
        return share, -counts.get("fail", 0)

    scored = [(score(n), -k, n) for k, n in enumerate(candidates)]
    if not scored or max(scored)[0][0] < 0:
        return None
    return max(scored)[2]


def verdict_line(evaluation: Evaluation) -> str:
    """One sentence: the best set, and each set that fails privacy with the metrics at fault."""
    specs = {s.name: s for s in evaluation.specs}
    best = best_set(evaluation)
    unsafe = privacy_failures(evaluation)
    parts = []
    if best is not None:
        counts = status_counts(evaluation.results[best])
        judged = sum(counts.get(s, 0) for s in _JUDGED)
        parts.append(f"best: {best} ({counts.get('pass', 0)}/{judged} metrics pass)")
    if unsafe:
        listed = "; ".join(
            f"{name} ({', '.join(specs[r.name].label for r in records)})"
            for name, records in unsafe.items()
        )
        parts.append(f"fails privacy, do not share: {listed}")
    else:
        parts.append("no set fails privacy")
    return "; ".join(parts)


_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "error": "red", "na": "dim"}


def verdict_table(evaluation: Evaluation) -> Any:
    """A :class:`rich.table.Table`: per set the three verdicts and the headline metrics,
    then the real-vs-real floor of those metrics."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from synthomics.report.html import format_value

    specs = {s.name: s for s in evaluation.specs}
    headline = [m for m in TERMINAL_HEADLINE if m in specs]
    table = Table(
        title="verdict: synthetic sets against the real-vs-real floor",
        caption="under each verdict: metrics that pass / metrics judged",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("set", style="bold", overflow="fold", min_width=8)
    for family in FAMILIES:
        table.add_column(family, justify="center", no_wrap=True)
    for metric in headline:
        table.add_column(
            f"{TERMINAL_HEADLINE[metric]} {specs[metric].arrow}", justify="right", no_wrap=True
        )
    for name, verdicts in set_verdicts(evaluation).items():
        cells = []
        for verdict in verdicts.values():
            style = _STYLE[verdict.status]
            detail = f"{verdict.passed}/{verdict.judged}" if verdict.judged else verdict.detail
            cells.append(f"[{style}]{verdict.rating}[/]\n[dim]{detail}[/]")
        by_name = {r.name: r for r in evaluation.results[name]}
        for metric in headline:
            record = by_name[metric]
            text = format_value(record.value, specs[metric]) if record.status != "n/a" else "n/a"
            style = _STYLE.get(record.status)
            cells.append(f"[{style}]{text}[/]" if style else text)
        table.add_row(escape(name), *cells)
    first = evaluation.results[evaluation.set_names[0]] if evaluation.set_names else []
    floors = {r.name: r.floor for r in first}
    table.add_row(
        "[italic]real-vs-real floor[/]",
        *[""] * len(FAMILIES),
        *[f"[italic]{format_value(floors.get(m), specs[m])}[/]" for m in headline],
    )
    return table


def print_verdict(
    evaluation: Evaluation,
    report: str | os.PathLike[str] | None = None,
    console: Any = None,
) -> None:
    """Print the verdict table, the verdict line, errors and notes, then the report's path.

    Parameters
    ----------
    evaluation
        What :func:`synthomics.metrics.evaluate` (or ``evaluate_genotypes``) returned.
    report
        Path of ``report.html``, printed last.
    console
        A :class:`rich.console.Console`; a new one on standard output by default.
    """
    from rich.console import Console
    from rich.markup import escape

    console = console or Console()
    console.print(verdict_table(evaluation))
    unsafe = privacy_failures(evaluation)
    style = "bold red" if unsafe else "bold green"
    console.print(f"[{style}]{escape(verdict_line(evaluation))}[/]", soft_wrap=True)
    console.print(
        "[dim]each verdict counts the metrics within tolerance of the floor, what two "
        "independent real samples reach; every metric is in the report.[/]",
        soft_wrap=True,
    )
    errors = [
        (n, r) for n in evaluation.set_names for r in evaluation.results[n] if r.status == "error"
    ]
    for name, record in errors[:10]:
        console.print(
            f"[red]error[/] {escape(name)}: {record.name}: {escape(str(record.error))}",
            highlight=False,
            soft_wrap=True,
        )
    for note in evaluation.notes:
        console.print(f"[dim]• {escape(note)}[/]", highlight=False, soft_wrap=True)
    if report is not None:
        console.print(
            f"report: [bold]{escape(str(report))}[/] (metrics.tsv and metrics.json beside it)",
            highlight=False,
            soft_wrap=True,
        )


__all__ = [
    "TERMINAL_HEADLINE",
    "FamilyVerdict",
    "best_set",
    "family_verdict",
    "print_verdict",
    "privacy_failures",
    "set_verdicts",
    "status_counts",
    "verdict_line",
    "verdict_table",
]
