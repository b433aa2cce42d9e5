"""The spike-in section of the report: power/FDR curves and the null false-positive table."""

from __future__ import annotations

import itertools

import pandas as pd

from synthomics.report.spike_in import power_fdr_figure, spike_in_section


def summary() -> pd.DataFrame:
    """Two datasets x two methods x lfc {0, 1, 2} x n {50, 100}, with made-up scores."""
    rows = []
    for dataset, method, lfc, n in itertools.product(
        ("a", "b"), ("lm_log", "ancom"), (0.0, 1.0, 2.0), (50, 100)
    ):
        rows.append(
            {
                "dataset": dataset,
                "method": method,
                "lfc": lfc,
                "n": n,
                "power": lfc / 2,
                "fdr": 0.1,
                "null_p05_share": 0.0625 if method == "lm_log" else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def test_figure_has_a_power_and_an_fdr_panel_per_dataset():
    fig = power_fdr_figure(summary())
    axes = fig.get_axes()
    assert len(axes) == 4  # 2 rows (power, FDR) x 2 datasets
    assert [ax.get_title() for ax in axes[:2]] == ["a", "b"]
    # one line per method and n (2 x 2) in each panel, plus the nominal-FDR line below
    assert len(axes[0].get_lines()) == 4 and len(axes[2].get_lines()) == 5
    x, y = axes[0].get_lines()[-1].get_data()
    assert list(x) == [1.0, 2.0] and list(y) == [0.5, 1.0]  # power = lfc / 2, null left out


def test_section_lists_the_null_false_positive_shares():
    section = spike_in_section(summary())
    assert section.title == "Differential abundance on spiked cohorts"
    assert len(section.figures) == 1 and section.figures[0].image.startswith("data:image/png")
    # method columns in alphabetical order (ancom has no p-values: empty), one row per n
    assert "<td></td><td>0.062</td>" in section.html
    assert section.html.count("<tr><th>a</th>") == 2
