"""The Appendix D measure slates and the illustrative measure benchmarks in the program definition."""

from __future__ import annotations

import pytest
import yaml
from test_program import _load_broken

from dsrip_lib.errors import ParameterError
from dsrip_lib.program import program_path
from dsrip_lib.program.measures import SLATE_ENTITY_TYPES, Measure, MeasureSlates, is_benchmarked


@pytest.fixture(scope="module")
def raw():
    """The program file as a mapping, for tests that break one cell of it."""
    return yaml.safe_load(program_path("masshealth_dsrip").read_text(encoding="utf-8"))


def _measure(raw, entity_type, measure_id):
    return next(m for m in raw["measures"][entity_type] if m["id"] == measure_id)


# -- the slates as read from Appendix D ---------------------------------------------------------------
def test_slate_sizes_and_row_numbers(program):
    slates = program.measures
    aco = slates.slate("aco")
    # ACO rows 1-39 (text: "the 39 proposed measures") plus the member-experience survey row (40 here).
    assert sorted({m.number for m in aco}) == list(range(1, 41))
    assert sorted({m.number for m in slates.slate("cp_bh")}) == list(range(1, 18))
    assert sorted({m.number for m in slates.slate("cp_ltss")}) == list(range(1, 12))
    assert sorted({m.number for m in slates.slate("csa")}) == list(range(1, 9))


def test_appendix_d_cells(program):
    m = program.measures.measure("aco", "well_child_15m")
    assert (m.number, m.nqf, m.data_source, m.frequency) == (1, "1392", "chart_review", "yearly")
    assert [m.basis_in(bp) for bp in range(6)] == [None, "reporting", "performance", "performance",
                                                   "performance", "performance"]
    ped = program.measures.measure("aco", "ed_visits")
    assert ped.kind == "utilization" and not ped.higher_is_better and ped.performance_periods == []
    assert program.measures.measure("aco", "a1c_poor_control").higher_is_better is False
    assert program.measures.measure("cp_bh", "readmissions").nqf == "1789"


def test_cp_and_csa_measures_are_reporting_only_in_bp_1_and_2(program):
    """Sec 5.4.3 / 5.4.4.4: CP/CSA performance years 1-2 are reporting only; Appendix D agrees."""
    reporting_only = program.cp_accountability.reporting_only_budget_periods
    for entity_type in ("cp_bh", "cp_ltss", "csa"):
        for m in program.measures.slate(entity_type):
            assert all(m.basis_in(bp) == "reporting" for bp in reporting_only), m.id
            assert m.performance_periods == [3, 4, 5], m.id


def test_every_slate_domain_has_a_weight(program):
    """Every CP/CSA domain with a weight (Exhibits 43-45) has a measure, and every ACO domain too."""
    for entity_type, weights in program.cp_accountability.domain_weights.items():
        assert program.measures.domains(entity_type) == set(weights), entity_type
    assert program.measures.domains("aco") == {d.key for d in program.quality_domains}


def test_measure_lookup_errors_name_the_measure_and_the_slate(program):
    with pytest.raises(ParameterError, match="'adhd_continuation' is not in the csa measure slate"):
        program.measures.measure("csa", "adhd_continuation")
    with pytest.raises(ParameterError, match="no measure slate for entity type 'mco'"):
        program.measures.slate("mco")
    with pytest.raises(ParameterError, match="budget period 9 does not exist"):
        program.measures.measure("aco", "ppa").basis_in(9)


def test_basis_letters_and_dicts_are_the_same_measure():
    common = dict(id="x", number=1, name="X", domain="d", data_source="claims", higher_is_better=True, kind="binomial")
    letters = Measure(basis="-RPPPP", **common)
    explicit = Measure(basis={0: None, 1: "reporting", 2: "performance", 3: "performance", 4: "performance",
                              5: "performance"}, **common)
    assert letters == explicit
    with pytest.raises(ValueError, match="unknown"):
        Measure(basis="-RXPPP", **common)


def test_ids_unique_within_a_slate_but_shared_across_slates():
    m = dict(id="x", number=1, name="X", domain="d", data_source="claims", basis="-R",
             higher_is_better=True, kind="binomial")
    MeasureSlates(aco=(m,), csa=(m,))
    with pytest.raises(ValueError, match=r"aco: measure ids \['x'\] appear more than once"):
        MeasureSlates(aco=(m, {**m, "number": 2}))


# -- the loader's cross-block checks --------------------------------------------------------------------
def test_a_measure_in_an_unknown_domain_is_refused(tmp_path, raw):
    message = _load_broken(tmp_path, raw, lambda r: _measure(r, "aco", "fuh_7_day").__setitem__("domain", "dental"))
    assert "measures.aco" in message and "fuh_7_day (dental)" in message


def test_a_cp_measure_in_a_domain_without_a_cp_weight_is_refused(tmp_path, raw):
    """LTSS CPs have no Chronic Disease domain (Exhibit 45)."""
    message = _load_broken(tmp_path, raw,
                            lambda r: _measure(r, "cp_ltss", "readmissions").__setitem__("domain", "chronic_disease"))
    assert "measures.cp_ltss" in message and "readmissions (chronic_disease)" in message


def test_basis_must_cover_the_budget_periods(tmp_path, raw):
    message = _load_broken(tmp_path, raw, lambda r: _measure(r, "aco", "ppa").__setitem__("basis", "-RPPP"))
    assert "budget periods [0, 1, 2, 3, 4]" in message


def test_duplicate_measure_id_is_refused(tmp_path, raw):
    message = _load_broken(tmp_path, raw, lambda r: r["measures"]["csa"].append(dict(r["measures"]["csa"][0])))
    assert "csa: measure ids ['well_child_3_6'] appear more than once" in message


def test_benchmarks_without_slates_are_refused(tmp_path, raw):
    message = _load_broken(tmp_path, raw, lambda r: r.pop("measures"))
    assert "measure_benchmarks needs the measures block" in message


# -- benchmarks ---------------------------------------------------------------------------------------
def test_benchmarks_are_labelled_illustrative_and_cover_every_scored_cell(program):
    bench = program.measure_benchmarks
    assert bench.illustrative and "Quality Compass" in bench.source and bench.minimum_denominator == 30
    for entity_type in SLATE_ENTITY_TYPES:
        table = bench.table(entity_type)
        for m in program.measures.slate(entity_type):
            expected = m.performance_periods if is_benchmarked(entity_type, m) else []
            assert sorted(table.get(m.id, {})) == expected, (entity_type, m.id)


def test_aco_avoidable_utilization_uses_quartile_targets_not_benchmarks(program):
    assert not is_benchmarked("aco", program.measures.measure("aco", "ppa"))
    assert is_benchmarked("cp_bh", program.measures.measure("cp_bh", "readmissions"))


def test_csa_care_plan_threshold_is_appendix_d_expected_attainment(program):
    """Appendix D, CSA measure 8: "Expected attainment = 70% or above"."""
    cells = program.measure_benchmarks.csa["csa_engagement"]
    assert {c.attainment_threshold for c in cells.values()} == {0.70}


@pytest.mark.parametrize("measure_id, cell", [
    ("fuh_7_day", {"attainment_threshold": 0.6, "excellence_benchmark": 0.58}),        # higher is better
    ("fuh_7_day", {"attainment_threshold": 0.58, "excellence_benchmark": 0.58}),       # no range at all
    ("a1c_poor_control", {"attainment_threshold": 0.29, "excellence_benchmark": 0.48}),  # lower is better
])
def test_threshold_on_the_wrong_side_of_its_benchmark_is_refused(tmp_path, raw, measure_id, cell):
    message = _load_broken(tmp_path, raw, lambda r: r["measure_benchmarks"]["aco"][measure_id].__setitem__(4, cell))
    assert f"measure_benchmarks.aco.{measure_id}.4: attainment threshold" in message


def test_lower_is_better_threshold_above_its_benchmark_loads(program):
    cell = program.measure_benchmarks.aco["a1c_poor_control"][2]
    assert cell.attainment_threshold > cell.excellence_benchmark


def test_benchmark_for_a_reporting_period_or_unknown_measure_is_refused(tmp_path, raw):
    cell = {"attainment_threshold": 0.3, "excellence_benchmark": 0.6}
    message = _load_broken(tmp_path, raw, lambda r: r["measure_benchmarks"]["aco"]["oral_evaluation"].__setitem__(2, cell))
    assert "oral_evaluation.2: the measure is not pay-for-performance in budget period 2" in message
    message = _load_broken(tmp_path, raw, lambda r: r["measure_benchmarks"]["csa"].__setitem__("adhd", {3: cell}))
    assert "measure_benchmarks.csa.adhd: not a measure of the csa slate" in message
    message = _load_broken(tmp_path, raw, lambda r: r["measure_benchmarks"]["aco"].__setitem__("ppa", {3: cell}))
    assert "measure_benchmarks.aco.ppa: this utilization measure is not scored against benchmarks" in message
