"""Verdicts per set and family, the best set, privacy failures, and their terminal table.

Evaluations are built by hand from records of registered metrics with chosen statuses, so
each expected verdict follows from the rule in :mod:`synthomics.report.verdict`.
"""

from __future__ import annotations

import pytest
from rich.console import Console

from synthomics.metrics.results import Evaluation, MetricResult, make_result
from synthomics.metrics.specs import METRICS
from synthomics.report.html import scorecard_html
from synthomics.report.verdict import (
    best_set,
    family_verdict,
    print_verdict,
    privacy_failures,
    set_verdicts,
    verdict_line,
    verdict_table,
)

FIDELITY = ["c2st_auc", "richness_wasserstein", "prevalence_pearson", "zero_fraction_gap"]
PRIVACY = ["exact_copies", "dcr_ratio", "membership_inference_auc"]
UTILITY = ["tstr_ratio_logistic"]


def records(statuses: dict[str, str], value: float = 0.5, floor: float = 0.45) -> list:
    out = []
    for name, status in statuses.items():
        record = make_result(name, value, status=status)  # type: ignore[arg-type]
        record.floor = floor
        out.append(record)
    return out


def evaluation(sets: dict[str, dict[str, str]]) -> Evaluation:
    names = {n for statuses in sets.values() for n in statuses}
    return Evaluation(
        omics="microbiome",
        set_names=list(sets),
        results={name: records(statuses) for name, statuses in sets.items()},
        floor=[],
        specs=[s for s in METRICS if s.name in names],
    )


def statuses(fidelity: list[str], privacy: list[str], utility: list[str]) -> dict[str, str]:
    return dict(zip(FIDELITY + PRIVACY + UTILITY, [*fidelity, *privacy, *utility], strict=True))


def test_metric_names_are_registered():
    registered = {s.name for s in METRICS}
    assert set(FIDELITY + PRIVACY + UTILITY) <= registered


@pytest.mark.parametrize(
    ("statuses_", "rating", "detail"),
    [
        (["pass"] * 10, "good", "10/10 pass"),
        (["pass"] * 9 + ["warn"], "mixed", "9/10 pass"),
        (["pass"] * 9 + ["fail"], "mixed", "9/10 pass"),  # 1 of 10 fail: at most 15 %
        (["pass"] * 8 + ["fail"] * 2, "poor", "8/10 pass"),  # 20 % fail
        (["n/a", "n/a"], "not assessed", "2 n/a"),
        (["pass", "error", "info"], "good", "1/1 pass, 1 error"),
    ],
)
def test_family_verdict(statuses_, rating, detail):
    recs = [
        MetricResult(name=f"m{k}", family="fidelity", direction="lower", value=1.0, status=s)
        for k, s in enumerate(statuses_)
    ]
    verdict = family_verdict(recs)
    assert (verdict.rating, verdict.detail) == (rating, detail)


@pytest.fixture
def three_sets() -> Evaluation:
    return evaluation(
        {
            # every fidelity metric passes, but it copies training samples
            "leaky": statuses(["pass"] * 4, ["fail", "fail", "pass"], ["pass"]),
            "solid": statuses(["pass", "pass", "warn", "pass"], ["pass"] * 3, ["pass"]),
            "weak": statuses(["fail", "fail", "pass", "pass"], ["pass"] * 3, ["warn"]),
        }
    )


def test_verdicts_best_set_and_privacy_failures(three_sets):
    verdicts = set_verdicts(three_sets)
    assert {f: v.rating for f, v in verdicts["leaky"].items()} == {
        "fidelity": "good",
        "privacy": "poor",
        "utility": "good",
    }
    assert {f: v.rating for f, v in verdicts["solid"].items()} == {
        "fidelity": "mixed",
        "privacy": "good",
        "utility": "good",
    }
    assert verdicts["weak"]["fidelity"].rating == "poor"
    assert {n: [r.name for r in rs] for n, rs in privacy_failures(three_sets).items()} == {
        "leaky": ["exact_copies", "dcr_ratio"]
    }
    # leaky passes 6/8, solid 7/8, weak 5/8; leaky is out anyway for failing privacy
    assert best_set(three_sets) == "solid"
    assert verdict_line(three_sets) == (
        "best: solid (7/8 metrics pass); fails privacy, do not share: leaky "
        "(exact copies, DCR ratio)"
    )


def test_best_set_is_the_highest_pass_share_when_none_leaks():
    ev = evaluation(
        {
            "a": statuses(["pass", "fail", "fail", "pass"], ["pass"] * 3, ["pass"]),
            "b": statuses(["pass", "pass", "warn", "pass"], ["pass"] * 3, ["pass"]),
        }
    )
    assert best_set(ev) == "b"
    assert verdict_line(ev) == "best: b (7/8 metrics pass); no set fails privacy"


def test_when_every_set_leaks_the_best_is_still_named():
    ev = evaluation(
        {
            "x": statuses(["pass"] * 4, ["fail", "pass", "pass"], ["pass"]),
            "y": statuses(["fail"] * 4, ["fail", "pass", "pass"], ["pass"]),
        }
    )
    assert best_set(ev) == "x"
    assert verdict_line(ev).startswith("best: x (7/8 metrics pass); fails privacy, do not share: ")


def test_terminal_table_rows(three_sets):
    console = Console(width=200, record=True, color_system=None)
    console.print(verdict_table(three_sets))
    lines = console.export_text().splitlines()
    header = next(line for line in lines if "fidelity" in line)
    for column in ("set", "privacy", "utility", "C2ST ↓", "DCR ↑", "MIA ↓", "TSTR ↑"):
        assert column in header
    at = next(k for k, line in enumerate(lines) if "leaky" in line)
    assert lines[at].split() == ["leaky", "good", "poor", "good", "0.5", "0.5", "0.5", "0.5"]
    assert lines[at + 1].split() == ["4/4", "1/3", "1/1"]
    floor = next(line for line in lines if line.lstrip().startswith("real-vs-real floor"))
    assert floor.split() == ["real-vs-real", "floor", "0.45", "0.45", "0.45", "0.45"]


def test_print_verdict_ends_with_the_report(three_sets, tmp_path):
    console = Console(width=60, record=True, color_system=None)
    print_verdict(three_sets, tmp_path / "report.html", console=console)
    text = console.export_text()
    assert "fails privacy, do not share: leaky (exact copies, DCR ratio)" in text
    assert text.rstrip().splitlines()[-1] == (
        f"report: {tmp_path / 'report.html'} (metrics.tsv and metrics.json beside it)"
    )


def test_html_scorecard_shows_the_same_verdicts(three_sets):
    page = scorecard_html(three_sets, ["c2st_auc"])
    assert '<td class="fam s-fail"><b>poor</b><br><span class="small">1/3 pass</span></td>' in page
    assert '<td class="fam s-warn"><b>mixed</b><br><span class="small">3/4 pass</span></td>' in page
