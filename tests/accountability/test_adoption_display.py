"""An adoption result reads as a table on screen: ``summary()`` (text) and Jupyter's ``_repr_html_``."""

from __future__ import annotations

import html.parser

from dsrip_lib.accountability.adoption import PATHS, AdoptionResult

SCORED = AdoptionResult(3, 2033, 849, 849 / 2033, 0.35, True,
                        {"path_aco": 587, "path_apm_pcp": 235, "path_apm_spending": 353})
PREP = AdoptionResult(0, 1988, 335, 335 / 1988, None, None, dict.fromkeys(PATHS, 112))
EMPTY = AdoptionResult(2, 0, 0, None, 0.375, None, dict.fromkeys(PATHS, 0))


class _Cells(html.parser.HTMLParser):
    """The text of every th/td, row by row."""

    def __init__(self):
        super().__init__()
        self.rows, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("th", "td"):
            self._cell = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("th", "td"):
            self.rows[-1].append(self._cell)
            self._cell = None


def test_summary_is_a_plain_text_table_of_the_counts_rate_target_and_result():
    text = SCORED.summary()
    lines = text.splitlines()
    assert lines[0] == "ACO/APM adoption rate, ACO budget period 3 (Sec 5.2.1.1, Exhibit 26)"
    assert set(lines[1]) == {"="}
    rows = {line[:36].strip(): line[36:].strip() for line in lines[2:10]}
    assert rows == {
        "ACO-eligible members (denominator)": "2,033", "Adopted, any path (numerator)": "849",
        "via ACO": "587", "via APM PCP": "235", "via APM spending": "353",
        "Adoption rate": "41.76%", "Target": "35%", "Result": "pass",
    }
    assert len({len(line) for line in lines[2:10]}) == 1  # values right-aligned in one column
    assert str(SCORED) == text  # print(result) shows the summary


def test_summary_says_when_there_is_no_target_or_no_eligible_member():
    assert "none (Exhibit 26: NA)" in PREP.summary() and "n/a (no target)" in PREP.summary()
    empty = EMPTY.summary()
    assert "none (no ACO-eligible member)" in empty and "no eligible members" in empty
    assert "37.5%" in empty  # a target as written, not rounded
    assert "nan" not in empty.lower()


def test_jupyter_shows_the_same_rows_as_an_html_table():
    parser = _Cells()
    parser.feed(SCORED._repr_html_())
    assert parser.rows[0] == ["ACO-eligible members (denominator)", "2,033"]
    assert parser.rows[-1] == ["Result", "pass"]
    assert len(parser.rows) == 8 and "<caption>ACO/APM adoption rate, ACO budget period 3" in SCORED._repr_html_()

