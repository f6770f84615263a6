"""The chart theme: titles, axis labels, a colour-blind-safe palette, pass and fail told apart without colour."""

from __future__ import annotations

import datetime as dt

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from dsrip_lib.publishing import charts


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_rate_against_target_styles_outcomes_by_hatch_as_well_as_colour():
    fig = charts.rate_against_target(["BP 1", "BP 2", "Prep"], [0.4, 0.2, float("nan")], [0.3, 0.3, None],
                                     ["pass", "fail", "n/a"], "Rate", "Period", "Share (%)", "target")
    ax = fig.axes[0]
    bars = ax.patches[:3]
    assert [b.get_hatch() or "" for b in bars] == ["", "//", ".."]
    assert bars[2].get_height() == 0  # a suppressed rate is drawn as no bar
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("Rate", "Period", "Share (%)")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "target", "rate: target met", "rate: target missed", "rate: no target"]


def test_stacked_by_month_uses_the_palette_and_the_theme():
    months = pd.date_range("2018-01-01", periods=3, freq="MS")
    series = pd.DataFrame({"Model A": [1, 2, 3], "Model B": [3, 2, 1]}, index=months)
    fig = charts.stacked_by_month(series, [(dt.date(2018, 1, 1), "BP 1")], "Members", "Members (people)")
    ax = fig.axes[0]
    colours = [c.get_facecolor()[0][:3] for c in ax.collections]
    assert [tuple(round(v, 3) for v in c) for c in colours] == [
        tuple(round(int(h[i:i + 2], 16) / 255, 3) for i in (1, 3, 5)) for h in charts.PALETTE[:2]]
    assert ax.get_legend().get_texts()[0].get_fontsize() == charts.THEME["legend.fontsize"]
    assert not ax.spines["top"].get_visible()


def test_share_heatmap_marks_hidden_cells():
    shares = pd.DataFrame({"x": [0.5, float("nan")]}, index=["a", "b"])
    fig = charts.share_heatmap(shares, shares.isna(), "Flows", "to", "from")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["50%", charts.SUPPRESSED]
