"""The reports' charts: one theme and the chart kinds reports share.

Every chart has a title and axis labels with units, and uses the Okabe-Ito palette, which
stays distinguishable under the common colour-vision deficiencies (Okabe and Ito, "Color
Universal Design", 2008). Pass and fail also differ by hatching, never by colour alone.
Charts take the published (suppressed) values, ``plot_values(pub.published(name))``, so
nothing suppressed in a table comes back in a picture.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display: charts are written into the report
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from dsrip_lib.publishing.fonts import CHART_FONT  # noqa: E402
from dsrip_lib.publishing.publisher import SUPPRESSED  # noqa: E402

# Okabe-Ito, without black (kept for text and reference marks)
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
OUTCOME_STYLE = {  # colour and hatch of a scored result
    "pass": ("#0072B2", ""),
    "fail": ("#D55E00", "//"),
    "n/a": ("#BBBBBB", ".."),
}
OUTCOME_LABELS = {"pass": "target met", "fail": "target missed", "n/a": "no target"}
THEME = {
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "font.family": CHART_FONT,
}

COUNT = FuncFormatter(lambda v, _: f"{v:,.0f}")
PERCENT = FuncFormatter(lambda v, _: f"{v:.0%}")


def themed(chart):
    """Draw ``chart`` under the reports' theme (rc settings apply while artists are created)."""

    @functools.wraps(chart)
    def draw(*args, **kwargs) -> Figure:
        with plt.rc_context(THEME):
            return chart(*args, **kwargs)

    return draw


def _figure(size: tuple[float, float], title: str, xlabel: str, ylabel: str):
    fig, ax = plt.subplots(figsize=size)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig, ax


@themed
def stacked_by_month(series: pd.DataFrame, marks: Sequence[tuple[dt.date, str]], title: str, ylabel: str) -> Figure:
    """A stacked area chart of monthly counts, one band per column, with labelled vertical marks.

    ``series`` is indexed by month; ``marks`` are (date, label) pairs such as budget-period starts.
    """
    fig, ax = _figure((9, 4), title, "Month", ylabel)
    ax.stackplot(series.index, *(series[c] for c in series.columns), labels=[str(c) for c in series.columns],
                 colors=PALETTE[: len(series.columns)], alpha=0.9)
    top = ax.get_ylim()[1]
    for day, label in marks:
        ax.axvline(pd.Timestamp(day), color="dimgrey", lw=0.6, ls=":")
        ax.text(pd.Timestamp(day), top * 0.98, f" {label}", va="top", fontsize=8, color="dimgrey")
    ax.yaxis.set_major_formatter(COUNT)
    ax.legend(loc="lower right", title=series.columns.name)
    return fig


@themed
def share_heatmap(shares: pd.DataFrame, hidden: pd.DataFrame, title: str, xlabel: str, ylabel: str,
                  colorbar_label: str = "Share of the row") -> Figure:
    """A heat map of shares or scores (0-1) with each value printed; cells ``hidden`` show the suppression marker."""
    fig, ax = _figure((8, max(3.8, 0.28 * len(shares.index) + 1.2)), title, xlabel, ylabel)
    values = shares.to_numpy(dtype=float)
    image = ax.imshow(values, cmap="cividis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(shares.columns)), shares.columns, rotation=20, ha="right")
    ax.set_yticks(range(len(shares.index)), shares.index)
    for (i, j), value in np.ndenumerate(values):
        text = SUPPRESSED if hidden.iat[i, j] else ("" if np.isnan(value) else f"{value:.0%}")
        ax.text(j, i, text, ha="center", va="center", fontsize=7, color="black" if value > 0.55 else "white")
    fig.colorbar(image, ax=ax, format=PERCENT, label=colorbar_label)
    return fig


@themed
def lines_by_period(series: pd.DataFrame, marks: Sequence[tuple[str, str]], title: str, xlabel: str, ylabel: str,
                    mark_label: str, references: pd.DataFrame | None = None,
                    reference_label: str = "reference") -> Figure:
    """One line per column of ``series`` (0-1) over its index of periods; ``(period, column)`` pairs in ``marks``
    get a black cross (e.g. a domain found statistically worse in that period); ``references`` (same
    columns, a subset of the periods) are drawn as hollow markers in each column's colour (e.g. the pooled
    score of the earlier periods each period is tested against)."""
    fig, ax = _figure((9, 3.8), title, xlabel, ylabel)
    periods = [str(p) for p in series.index]
    for i, column in enumerate(series.columns):
        colour = PALETTE[i % len(PALETTE)]  # explicit: the reference markers must not advance the cycle
        ax.plot(periods, series[column].to_numpy(dtype=float), marker="o", color=colour, label=column)
        if references is not None and column in references:
            ax.plot([str(p) for p in references.index], references[column].to_numpy(dtype=float), lw=0,
                    marker="D", markersize=6, markerfacecolor="none", markeredgecolor=colour)
    for period, column in marks:
        ax.plot(str(period), series.at[period, column], "kx", markersize=11, mew=2.5)
    handles, _ = ax.get_legend_handles_labels()
    if references is not None:
        handles.append(plt.Line2D([], [], color="grey", marker="D", markerfacecolor="none", lw=0,
                                  label=reference_label))
    if marks:
        handles.append(plt.Line2D([], [], color="k", marker="x", lw=0, mew=2.5, label=mark_label))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PERCENT)
    return fig


@themed
def rate_against_target(periods: Sequence[str], rates: Sequence[float], targets: Sequence[float | None],
                        outcomes: Sequence[str], title: str, xlabel: str, ylabel: str, target_label: str) -> Figure:
    """Bars of a rate per period, styled by outcome (``pass``, ``fail``, ``n/a``), with the target as a mark.

    A rate withheld by suppression (NaN) is drawn as no bar.
    """
    fig, ax = _figure((8, 3.6), title, xlabel, ylabel)
    for period, rate, outcome in zip(periods, rates, outcomes):
        colour, hatch = OUTCOME_STYLE[outcome]
        ax.bar(period, 0 if pd.isna(rate) else rate, color=colour, hatch=hatch, edgecolor="white")
    stated = [(p, t) for p, t in zip(periods, targets) if t is not None and not pd.isna(t)]
    ax.plot([p for p, _ in stated], [t for _, t in stated], "k_", markersize=28, mew=2.5)
    handles = [plt.Line2D([], [], color="k", lw=2.5, label=target_label)]
    handles += [plt.Rectangle((0, 0), 1, 1, facecolor=OUTCOME_STYLE[o][0], hatch=OUTCOME_STYLE[o][1],
                              edgecolor="white", label=f"rate: {OUTCOME_LABELS[o]}")
                for o in OUTCOME_STYLE if o in set(outcomes)]
    ax.legend(handles=handles, loc="upper left")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PERCENT)
    return fig


@themed
def waterfall(steps: Sequence[tuple[str, float]], totals: set[str], title: str, ylabel: str) -> Figure:
    """A waterfall of amounts: bars labelled in ``totals`` stand on zero, the others float from the running total.

    ``steps`` are (label, amount) pairs in order; a negative step is drawn falling (orange), a
    positive one rising (green), a total in the first palette colour; each bar shows its amount.
    """
    fig, ax = _figure((8, 3.8), title, "", ylabel)
    running = 0.0
    for i, (label, amount) in enumerate(steps):
        if label in totals:
            bottom, height, colour, running = 0.0, amount, PALETTE[0], amount
        else:
            bottom, height = (running + amount, -amount) if amount < 0 else (running, amount)
            colour, running = (PALETTE[5] if amount < 0 else PALETTE[2]), running + amount
        ax.bar(i, height, bottom=bottom, color=colour, width=0.6)
        ax.text(i, bottom + height, f"{amount:,.0f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(steps)), [label for label, _ in steps], rotation=15, ha="right")
    ax.yaxis.set_major_formatter(COUNT)
    return fig


@themed
def estimates_with_intervals(frame: pd.DataFrame, title: str, xlabel: str, ylabel: str, mark_at: float,
                             mark_label: str) -> Figure:
    """Point estimates (``x``, ``estimate``) with their intervals (``low``, ``high``) as error bars, a line at
    zero and a dashed vertical mark at ``mark_at`` (e.g. an event study's coefficients around launch)."""
    fig, ax = _figure((9, 3.6), title, xlabel, ylabel)
    x = frame["x"].to_numpy(dtype=float)
    est = frame["estimate"].to_numpy(dtype=float)
    err = np.vstack([est - frame["low"].to_numpy(dtype=float), frame["high"].to_numpy(dtype=float) - est])
    ax.errorbar(x, est, yerr=err, fmt="o", color=PALETTE[0], ecolor=PALETTE[4], capsize=2, markersize=4,
                label="estimate and interval")
    ax.axhline(0, color="black", lw=0.8)
    ax.axvline(mark_at, color="black", lw=0.8, ls="--", label=mark_label)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig
