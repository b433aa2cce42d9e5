"""Figure parts shared by the microbiome and genotype reports."""

from __future__ import annotations

from itertools import pairwise
from types import SimpleNamespace

from matplotlib.backends.backend_agg import FigureCanvasAgg

from synthomics.report import figure_parts


def test_augmentation_figure_on_a_log_axis_has_only_the_share_labels(monkeypatch):
    # shares 5-50 % span less than a decade and a half: matplotlib's log axis labelled its
    # minor ticks (2x10^1, 3x10^1...) on top of the shares' own labels
    drawn = []
    monkeypatch.setattr(figure_parts, "figure_image", lambda fig: drawn.append(fig) or "")
    curve = {"fractions": [0.05, 0.1, 0.2, 0.5], "accuracy_real_only": [0.5, 0.6, 0.7, 0.8]}
    ev = SimpleNamespace(
        set_names=["copula"],
        settings={"label": "population"},
        figure_data={"augmentation": {"copula": {**curve, "accuracy_with_synthetic": curve[
            "accuracy_real_only"]}}, "trtr": {}},
    )  # fmt: skip
    figure_parts.augmentation_figure(
        ev, score="accuracy", score_label="accuracy", features="dosages", log_x=True
    )
    (fig,) = drawn
    ax = fig.axes[0]
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    labels = [t for t in ax.get_xticklabels(which="both") if t.get_visible() and t.get_text()]
    assert [t.get_text() for t in labels] == ["5", "10", "20", "50"]
    boxes = [t.get_window_extent(renderer) for t in labels]
    for left, right in pairwise(boxes):
        assert left.x1 < right.x0  # no two labels overlap
