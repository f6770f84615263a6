"""Complementary small-cell suppression on hand-built tables where subtraction would give a count back."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsrip_lib.attribution import flows as attr
from dsrip_lib.errors import ReportError
from dsrip_lib.publishing import suppression as sup
from dsrip_lib.publishing.publisher import SUPPRESSED, suppress_small_cells
from dsrip_lib.reports import attribution as ar

PARTS = ["a", "b", "c"]
MARGIN = {"total": PARTS}


def _table(rows):
    """Rows of parts a, b, c; the total is their sum."""
    df = pd.DataFrame(rows, columns=PARTS)
    df["total"] = df[PARTS].sum(axis=1)
    return df


def _hidden(published: pd.DataFrame) -> pd.DataFrame:
    return published == SUPPRESSED


def _relations_with_one_hidden(hidden: pd.DataFrame, relations) -> list:
    """Relations (lists of cells) a reader can subtract from: exactly one hidden cell."""
    return [r for r in relations if sum(bool(hidden.at[cell]) for cell in getattr(r, "cells", r)) == 1]


def test_a_single_small_part_beside_a_visible_total_takes_the_smallest_other_part_with_it():
    # 3 is small; 50 - 20 - 27 would give it back: the smallest other non-zero part (20) goes too
    out = suppress_small_cells(_table([[3, 20, 27], [40, 30, 20]]), [*PARTS, "total"], margins=MARGIN)
    assert _hidden(out).to_dict("list") == {
        "a": [True, False], "b": [True, False], "c": [False, False], "total": [False, False]}
    assert out.at[0, "total"] == 50 and out.at[0, "c"] == 27


def test_no_margin_no_complementary_suppression():
    out = suppress_small_cells(_table([[3, 20, 27]]), [*PARTS, "total"])
    assert _hidden(out).sum().sum() == 1


def test_two_small_parts_need_nothing_more():
    out = suppress_small_cells(_table([[3, 4, 27]]), [*PARTS, "total"], margins=MARGIN)
    assert _hidden(out).iloc[0].tolist() == [True, True, False, False]


def test_zeros_are_never_suppressed_and_a_row_of_zeros_beside_the_part_hides_the_total():
    out = suppress_small_cells(_table([[3, 0, 40]]), [*PARTS, "total"], margins=MARGIN)
    assert out.iloc[0].tolist() == [SUPPRESSED, 0, SUPPRESSED, 43]
    # a part hidden by another relation with only zeros beside it equals the total: the total goes
    values = pd.DataFrame({"a": [30], "b": [0], "c": [0], "total": [30]})
    primary = pd.DataFrame({"a": [True], "b": [False], "c": [False], "total": [False]})
    hidden = sup.complementary(values, primary, sup.margin_relations(values, MARGIN))
    assert hidden.iloc[0].tolist() == [True, False, False, True]


def test_an_all_small_row_is_suppressed_whole_and_nothing_else():
    out = suppress_small_cells(_table([[3, 4, 2], [3, 4, 5], [30, 40, 50]]), [*PARTS, "total"], margins=MARGIN)
    assert _hidden(out).to_dict("list") == {
        "a": [True, True, False], "b": [True, True, False], "c": [True, True, False], "total": [True, False, False]}


def test_ties_go_to_the_first_cell_and_reruns_agree():
    df = _table([[5, 20, 20], [20, 20, 5]])
    first = suppress_small_cells(df, [*PARTS, "total"], margins=MARGIN)
    assert _hidden(first).to_dict("list") == {
        "a": [True, True], "b": [True, False], "c": [False, True], "total": [False, False]}
    assert first.equals(suppress_small_cells(df, [*PARTS, "total"], margins=MARGIN))


def test_a_complementary_cell_that_leaves_a_column_open_is_covered_in_turn():
    # rows: 5 + 30 + 40 = 75 and 30 + 35 + 40 = 105; the total row 35, 65, 80, 180.
    # Row 0 hides 5 and then 30 (column b); column b now has one hidden cell, so 35 goes too,
    # which opens row 1, where 30 (the smallest other) goes; column a then holds two.
    df = _table([[5, 30, 40], [30, 35, 40]])
    df = pd.concat([df, df.sum().to_frame().T], ignore_index=True)
    cols = [*PARTS, "total"]
    out = suppress_small_cells(df, cols, margins=MARGIN, total_row=True)
    hidden = _hidden(out)
    assert hidden.to_dict("list") == {
        "a": [True, True, False], "b": [True, True, False], "c": [False, False, False], "total": [False] * 3}
    relations = sup.margin_relations(df, MARGIN) + sup.total_row_relations(df, cols)
    assert _relations_with_one_hidden(hidden, relations) == []


def test_column_totals_published_elsewhere_count_only_when_visible():
    df = pd.DataFrame({"aco": ["x", "y", "z"], "n": [4, 50, 60]})
    hidden_there = suppress_small_cells(df, ["n"], column_totals={"n": SUPPRESSED})  # 2 unseen: safe
    assert _hidden(hidden_there)["n"].tolist() == [True, False, False]
    # a total hidden there (complementary, so it may be large) would come back from a column shown whole
    whole = suppress_small_cells(df.assign(n=[40, 50, 60]), ["n"], column_totals={"n": SUPPRESSED})
    assert _hidden(whole)["n"].tolist() == [True, False, False]
    against = suppress_small_cells(df, ["n"], column_totals={"n": 114})
    assert _hidden(against)["n"].tolist() == [True, True, False]
    with pytest.raises(ReportError, match="aggregate the table further"):
        # 40 must be hidden (by a margin) yet it is the whole of a visible published total
        suppress_small_cells(pd.DataFrame({"n": [0, 40], "m": [50, 5], "t": [50, 45]}), ["n", "m", "t"],
                             margins={"t": ["n", "m"]}, column_totals={"n": 40})


def test_a_total_of_parts_published_earlier_is_hidden_when_exactly_one_part_is_hidden_there():
    per_aco = pd.DataFrame({"BP 1": [SUPPRESSED, 40, 60], "BP 2": [SUPPRESSED, SUPPRESSED, 70]})
    all_acos = pd.DataFrame({"period": ["BP 1", "BP 2"], "members": [105, 86], "chc": [30, 20]})
    out = suppress_small_cells(all_acos, ["members", "chc"],
                               parts_elsewhere={"members": [per_aco[p].tolist() for p in all_acos.period]})
    assert out["members"].tolist() == [SUPPRESSED, 86] and out["chc"].tolist() == [30, 20]
    with pytest.raises(ValueError, match="1 rows of parts for 2 rows"):
        suppress_small_cells(all_acos, ["members"], parts_elsewhere={"members": [[1, 2]]})


def test_equal_column_sums_are_a_relation():
    df = pd.DataFrame({"out": [4, 30, 26], "in": [20, 20, 20]})
    out = suppress_small_cells(df, ["out", "in"], equal_sums=[("out", "in")])
    assert _hidden(out).to_dict("list") == {"out": [True, False, False], "in": [True, False, False]}


def test_a_missing_cell_already_hides_the_relation():
    df = pd.DataFrame({"a": pd.array([3, 30], dtype="Int64"), "b": pd.array([None, 40], dtype="Int64"),
                       "t": pd.array([50, 70], dtype="Int64")})
    out = suppress_small_cells(df, ["a", "b", "t"], margins={"t": ["a", "b"]})
    assert out.at[0, "a"] == SUPPRESSED and out.at[0, "t"] == 50 and out.at[0, "b"] is pd.NA


def test_derived_cells_of_a_complementary_count_are_withheld_and_undeclared_margins_refused():
    df = _table([[3, 20, 27]]).assign(share_b=lambda d: d.b / d.total)
    out = suppress_small_cells(df, [*PARTS, "total"], margins=MARGIN, derived={"share_b": ["b", "total"]})
    assert out.at[0, "b"] == SUPPRESSED and out.at[0, "share_b"] == "suppressed"
    with pytest.raises(ValueError, match="not declared as counts"):
        suppress_small_cells(df, PARTS, margins=MARGIN)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 40), min_size=2, max_size=4), min_size=1, max_size=6)
       .filter(lambda rows: len({len(r) for r in rows}) == 1),
       st.booleans())
def test_no_suppressed_cell_comes_back_by_subtraction_from_one_relation(rows, total_row):
    parts = [f"p{i}" for i in range(len(rows[0]))]
    df = pd.DataFrame(rows, columns=parts)
    df["total"] = df[parts].sum(axis=1)
    if total_row:
        df = pd.concat([df, df.sum().to_frame().T], ignore_index=True)
    cols = [*parts, "total"]
    out = suppress_small_cells(df, cols, margins={"total": parts}, total_row=total_row)
    hidden = _hidden(out)
    values = df.to_numpy()
    assert (hidden.to_numpy() >= ((values > 0) & (values <= 10))).all()  # every small cell is hidden
    assert not (hidden.to_numpy() & (values == 0)).any()  # and no zero
    relations = [[(i, c) for c in cols] for i in range(len(df))]
    if total_row:
        relations += [[(i, c) for i in range(len(df))] for c in cols]
    assert _relations_with_one_hidden(hidden, relations) == []


def test_flow_column_totals_are_the_per_aco_column_sums_while_the_matrix_shows_them():
    flow = pd.DataFrame(
        [("ACO", "A1", "ACO", "A1", 40), ("ACO", "A1", "ACO", "C1", 12), ("ACO", "C1", "MCO", None, 15),
         ("ACO", "C1", "ACO", "C1", 30), ("MCO", None, "ACO", "A1", 25), ("Not enrolled", None, "ACO", "C1", 11),
         ("FFS", None, "PCC", None, 60)],
        columns=["from_category", "from_aco", "to_category", "to_aco", "members"])
    acos = pd.DataFrame({"aco_id": ["A1", "C1"], "name": ["Alpha", "Charlie"], "model": ["A", "C"]})
    m_from, m_to = dt.date(2020, 12, 1), dt.date(2021, 12, 1)
    per_aco = ar.aco_flows_table(attr.aco_flow_summary(flow), acos, m_from, m_to)
    matrix = attr.flow_matrix(flow).reset_index()
    totals = ar.flow_column_totals(suppress_small_cells(matrix, list(matrix.columns[1:])), m_from, m_to)
    assert totals == per_aco.drop(columns=["aco_id", "name"]).sum().to_dict()
    matrix.loc[matrix["from"] == "ACO", "ACO (other)"] = 7  # now suppressed in the matrix
    hidden = ar.flow_column_totals(suppress_small_cells(matrix, list(matrix.columns[1:])), m_from, m_to)
    assert [k for k, v in hidden.items() if np.isnan(v)] == ["Dec 2020", "to other ACO", "from other ACO", "Dec 2021"]
