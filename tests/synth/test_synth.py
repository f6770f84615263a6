"""Tests of the synthetic data generator: determinism, the data contract, public magnitudes,
planted effects and the ACO/APM adoption truth (recomputed here with pandas)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from dsrip_lib.errors import ParameterError
from dsrip_lib.inputs.tables import Bounds, table_specs
from dsrip_lib.inputs.validation import validate_dir
from dsrip_lib.program import load_program
from dsrip_lib.synth import config as synth_config
from dsrip_lib.synth import generate
from dsrip_lib.synth import generator as synth_generator
from dsrip_lib.synth.config import PARAMS_DIR

PROGRAM = load_program()
CALIBRATION = yaml.safe_load((PARAMS_DIR / "synth.yaml").read_text())
SLATES = PROGRAM.require("measures")
# Public figures ([S3] of docs/synthetic_data.md: GAO-15-460)
GAO_ZERO_SHARE, GAO_TOP1, GAO_TOP5 = 0.12, 0.25, 0.48


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    """The small profile (30,000 members): magnitudes and cost effects need its sample size."""
    return generate(profile="small", seed=11, out=tmp_path_factory.mktemp("synth") / "small")


@pytest.fixture(scope="module")
def blocked_data(tmp_path_factory):
    """The tiny profile generated in three member blocks: tables are directories of part files."""
    with pytest.MonkeyPatch.context() as mp:
        tiny = synth_config.get_profile("tiny")
        mp.setattr(synth_config, "get_profile", lambda name: dataclasses.replace(tiny, block_size=1400))
        return generate(profile="tiny", seed=5, out=tmp_path_factory.mktemp("synth") / "blocked")


def read(path, table: str) -> pd.DataFrame:
    return pq.read_table(path / f"{table}.parquet").to_pandas()


def truth(path) -> dict:
    return json.loads((path / "truth.json").read_text())


def bp_of(dates: pd.Series, kind: str = "aco") -> pd.Series:
    """Budget period of each date (-1 outside every period), from the program calendar."""
    out = pd.Series(-1, index=dates.index)
    for p in PROGRAM.calendar.budget_periods(kind):
        out[(dates >= pd.Timestamp(p.start)) & (dates <= pd.Timestamp(p.end))] = p.number
    return out


# -- interface ---------------------------------------------------------------------------------
def test_every_contract_table_is_written_and_conforms(tiny_data):
    specs = table_specs(Bounds.from_program(PROGRAM))
    assert {p.name.removesuffix(".parquet") for p in tiny_data.glob("*.parquet")} == set(specs)
    report = validate_dir(tiny_data)
    assert "conforms" in report


def test_blocks_are_written_as_part_files_that_conform(blocked_data):
    parts = sorted(p.name for p in (blocked_data / "claims.parquet").iterdir())
    assert parts == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert (blocked_data / "entities.parquet").is_file()
    members = read(blocked_data, "members")
    claims = read(blocked_data, "claims")
    assert len(members) == CALIBRATION["profiles"]["tiny"]["members"] and members["member_id"].is_unique
    assert claims["claim_id"].is_unique
    assert "conforms" in validate_dir(blocked_data)


def test_same_seed_same_tables_other_seed_differs(tiny_data, tmp_path):
    again = generate(profile="tiny", seed=7, out=tmp_path / "again")
    other = generate(profile="tiny", seed=8, out=tmp_path / "other")
    for path in sorted(tiny_data.glob("*.parquet")):
        assert pq.read_table(again / path.name).equals(pq.read_table(path)), path.name
    assert truth(again) == truth(tiny_data)
    assert not pq.read_table(other / "claims.parquet").equals(pq.read_table(tiny_data / "claims.parquet"))
    assert truth(other)["adoption"] != truth(tiny_data)["adoption"]


def test_unknown_profile_and_foreign_directory_are_parameter_errors(tmp_path):
    with pytest.raises(ParameterError, match="unknown synthetic profile 'huge'"):
        generate(profile="huge", seed=1, out=tmp_path / "x")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ParameterError, match="not a synthetic data directory"):
        generate(profile="tiny", seed=1, out=tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    assert not (tmp_path / "x").exists()


def test_failed_generation_leaves_nothing(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(synth_generator.et, "survey_scores", broken)  # after the member tables are written
    with pytest.raises(RuntimeError, match="disk full"):
        generate(profile="tiny", seed=3, out=tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
    # an earlier output is kept when regenerating it fails
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "truth.json").write_text("{}")
    with pytest.raises(RuntimeError, match="disk full"):
        generate(profile="tiny", seed=3, out=earlier)
    assert list(tmp_path.iterdir()) == [earlier]
    assert [p.name for p in earlier.iterdir()] == ["truth.json"]


# -- internal consistency ------------------------------------------------------------------------
def test_chc_flag_follows_the_pcp_in_effect_on_the_last_day(tiny_data):
    enr = read(tiny_data, "enrollment")
    spans = read(tiny_data, "pcp_assignments")
    providers = read(tiny_data, "providers").set_index("npi")
    enr["month_end"] = pd.to_datetime(enr["month"]) + pd.offsets.MonthEnd(0)
    m = enr.merge(spans, on="member_id")
    start, end = pd.to_datetime(m["start_date"]), pd.to_datetime(m["end_date"])
    m = m[(start <= m["month_end"]) & (end.isna() | (end >= m["month_end"]))]
    assert not m.duplicated(["member_id", "month"]).any()
    in_effect = m.set_index(["member_id", "month"])["pcp_npi"].map(providers["is_chc"])
    chc = enr.set_index(["member_id", "month"])["chc_pcp"]
    expected = in_effect.reindex(chc.index).fillna(False).astype(bool)
    assert chc.any() and (chc == expected).all()
    # spans start and end mid-month sometimes, and FFS months have no PCP
    assert (pd.to_datetime(spans["start_date"]).dt.day > 1).mean() > 0.1
    assert not enr.loc[enr["plan_type"] == "ffs", "chc_pcp"].any()


def test_all_three_adoption_paths_and_apm_provider_kinds_occur(tiny_data):
    providers = read(tiny_data, "providers")
    apm = providers[providers["apm_paid"]]
    assert (apm["aco_id"].isna() & (apm["provider_type"] == "pcp")).any()
    assert (apm["provider_type"].isin(["specialist", "hospital"])).any()
    for bp, entry in truth(tiny_data)["adoption"].items():
        if int(bp) > 0:
            assert min(entry["path_aco"], entry["path_apm_pcp"], entry["path_apm_spending"]) > 0


@pytest.mark.parametrize("data", ["tiny_data", "blocked_data"])
def test_adoption_truth_matches_a_pandas_recomputation(data, request):
    """The agreed rule of Sec 5.2.1.1 written directly in pandas, against truth.json (also when the
    generator sums it over member blocks)."""
    path = request.getfixturevalue(data)
    threshold = PROGRAM.require("state_accountability").adoption.apm_non_primary_care_share_threshold
    enr = read(path, "enrollment")
    spans = read(path, "pcp_assignments")
    providers = read(path, "providers")
    entities = read(path, "entities")
    claims = read(path, "claims")
    model = providers["aco_id"].map(entities.set_index("entity_id")["aco_model"])
    providers = providers.assign(model_c=model.eq("C"))

    enr = enr[enr["aco_eligible"]].copy()
    enr["bp"] = bp_of(pd.to_datetime(enr["month"]))
    enr["month_end"] = pd.to_datetime(enr["month"]) + pd.offsets.MonthEnd(0)
    mco = enr[enr["plan_type"] == "mco"].merge(spans, on="member_id")
    start, end = pd.to_datetime(mco["start_date"]), pd.to_datetime(mco["end_date"])
    mco = mco[(start <= mco["month_end"]) & (end.isna() | (end >= mco["month_end"]))]
    mco = mco.merge(providers, left_on="pcp_npi", right_on="npi")
    aco = pd.concat([enr.loc[enr["plan_type"].isin(["aco_a", "aco_b"]), ["member_id", "bp"]],
                     mco.loc[mco["model_c"], ["member_id", "bp"]]])
    apm_pcp = mco.loc[mco["apm_paid"], ["member_id", "bp"]]

    claims = claims[claims["service_category"] != "primary_care"].merge(
        providers[["npi", "apm_paid"]], left_on="provider_npi", right_on="npi")
    claims["bp"] = bp_of(pd.to_datetime(claims["service_date"]))
    claims["apm_amount"] = claims["paid_amount"].where(claims["apm_paid"], 0.0)
    spend = claims.groupby(["member_id", "bp"])[["paid_amount", "apm_amount"]].sum()
    spending = spend[(spend["paid_amount"] > 0) & (spend["apm_amount"] > threshold * spend["paid_amount"])]

    den = enr[["member_id", "bp"]].drop_duplicates()
    keys = lambda df: set(map(tuple, df[["member_id", "bp"]].drop_duplicates().to_numpy()))  # noqa: E731
    paths = {"path_aco": keys(aco), "path_apm_pcp": keys(apm_pcp),
             "path_apm_spending": keys(spending.reset_index())}
    for bp, want in truth(path)["adoption"].items():
        members = {(m, int(bp)) for m in den.loc[den["bp"] == int(bp), "member_id"]}
        counts = {name: len(members & p) for name, p in paths.items()}
        numerator = len(members & set.union(*paths.values()))
        assert want["denominator"] == len(members)
        assert want["numerator"] == numerator
        assert {k: want[k] for k in counts} == counts
        assert want["rate"] == pytest.approx(numerator / len(members))
        if int(bp) > 0:
            assert want["meets_target"] == (want["rate"] >= PROGRAM.require("state_accountability").adoption.target(int(bp)))


def test_adoption_rates_make_the_exhibit_26_test_non_trivial(small_data):
    rates = {int(bp): e["rate"] for bp, e in truth(small_data)["adoption"].items() if int(bp) > 0}
    assert all(0.3 <= r <= 0.6 for r in rates.values())
    margins = [rates[bp] - PROGRAM.require("state_accountability").adoption.target(bp) for bp in rates]
    assert min(abs(m) for m in margins) < 0.05  # at least one period is close to its target


def test_cp_engagement_measure_counts_the_engagement_rows(tiny_data):
    """CP engagement (Appendix D) in measure_results = distinct members engaged / assigned per CP
    and CP budget period in cp_engagement."""
    eng = read(tiny_data, "cp_engagement")
    eng["budget_period"] = bp_of(pd.to_datetime(eng["month"]), "cp")
    keys = ["cp_id", "budget_period"]
    assigned = eng.groupby(keys)["member_id"].nunique()
    engaged = eng[eng["engaged"]].groupby(keys)["member_id"].nunique().reindex(assigned.index, fill_value=0)
    measures = read(tiny_data, "measure_results")
    got = measures[measures["measure_id"] == "cp_engagement"].set_index(["entity_id", "budget_period"])
    assert len(assigned) > 0 and len(got) == len(assigned)
    got = got.reindex(assigned.index)
    assert (got["denominator"] == assigned).all() and (got["numerator"] == engaged).all()


def test_every_entity_type_has_quality_results(tiny_data):
    entities = read(tiny_data, "entities").set_index("entity_id")["entity_type"]
    types = {name: set(read(tiny_data, name)["entity_id"].map(entities))
             for name in ("measure_results", "utilization", "survey_scores")}
    assert all(t == {"aco", "cp_bh", "cp_ltss", "csa"} for t in types.values()), types


def test_every_generated_measure_is_in_its_program_slate(tiny_data):
    """measure_results, utilization and survey_scores use the program's measure ids (Appendix D),
    each in the table its kind belongs to."""
    entities = read(tiny_data, "entities").set_index("entity_id")["entity_type"]
    tables = {"measure_results": {"binomial", "ratio", "engagement"}, "utilization": {"utilization"},
              "survey_scores": {"survey"}}
    for name, kinds in tables.items():
        df = read(tiny_data, name)
        ids = df["survey"] + "." + df["composite"] if name == "survey_scores" else df["measure_id"]
        pairs = set(zip(df["entity_id"].map(entities), ids))
        assert pairs, name
        for entity_type, measure_id in pairs:
            assert SLATES.measure(entity_type, measure_id).kind in kinds, (name, entity_type, measure_id)


def test_calibration_of_a_measure_outside_the_slate_is_a_parameter_error(monkeypatch):
    real = synth_config._read_yaml

    def fake(name):
        data = real(name)
        if name == "measure_slates.yaml":
            data["csa"]["measures"].append({"id": "not_in_appendix_d", "rate": 0.5, "prevalence": 0.1})
        return data

    monkeypatch.setattr(synth_config, "_read_yaml", fake)
    with pytest.raises(ParameterError, match="not_in_appendix_d.*csa measure slate"):
        synth_config.Config.load("tiny")


def test_calibration_of_the_wrong_kind_is_a_parameter_error(monkeypatch):
    real = synth_config._read_yaml

    def fake(name):
        data = real(name)
        if name == "measure_slates.yaml":
            data["aco"]["utilization"].append({"id": "fuh_7_day", "events_per_mm": 0.01})
        return data

    monkeypatch.setattr(synth_config, "_read_yaml", fake)
    with pytest.raises(ParameterError, match="fuh_7_day is a binomial measure"):
        synth_config.Config.load("tiny")


# -- magnitudes (public figures) -------------------------------------------------------------------
@pytest.fixture(scope="module")
def member_years(small_data):
    enr = read(small_data, "enrollment")
    claims = read(small_data, "claims")
    enr["year"] = pd.to_datetime(enr["month"]).dt.year
    claims["year"] = pd.to_datetime(claims["service_date"]).dt.year
    months = enr.groupby(["member_id", "year"]).size()
    group = enr.groupby("member_id")["eligibility_group"].first()
    cost = claims.groupby(["member_id", "year"])["paid_amount"].sum().reindex(months.index, fill_value=0.0)
    visits = claims[claims["primary_care_visit"]].groupby(["member_id", "year"]).size().reindex(
        months.index, fill_value=0)
    df = pd.DataFrame({"months": months, "cost": cost, "visits": visits}).reset_index()
    df["group"] = df["member_id"].map(group)
    return df


def test_pmpm_by_eligibility_group_near_calibration(small_data, member_years):
    claims = read(small_data, "claims")
    claims = claims[claims["exclusion_category"].isna()]
    group = member_years.groupby("member_id")["group"].first()
    spend = claims.groupby(claims["member_id"].map(group))["paid_amount"].sum()
    months = member_years.groupby("group")["months"].sum()
    pmpm = spend / months
    # 2019-dollar PMPMs for ACO scope (synthetic_magnitudes.md 2); the data span 2017-2022 around 2019
    expected = {"base_families": (300, 450), "new_adult": (420, 620), "base_disabled": (1150, 1850),
                "r2_children": (170, 320)}
    for g, (low, high) in expected.items():
        assert low <= pmpm[g] <= high, (g, pmpm[g])


def test_cost_distribution_matches_gao(member_years):
    full = member_years[member_years["months"] == 12]
    assert abs((full["cost"] == 0).mean() - GAO_ZERO_SHARE) < 0.03
    cost = np.sort(full["cost"].to_numpy())[::-1]
    top = lambda q: cost[: int(len(cost) * q)].sum() / cost.sum()  # noqa: E731
    assert abs(top(0.01) - GAO_TOP1) < 0.05
    assert abs(top(0.05) - GAO_TOP5) < 0.05


def test_primary_care_visit_rates(member_years):
    full = member_years[member_years["months"] == 12]
    children = full["group"] == "r2_children"
    adults = full["group"] == "new_adult"
    # synthetic_magnitudes.md 5: P(>=1 visit) 0.6-0.75 adults, 0.75-0.85 children; BACO 60% in 10 months
    assert 0.55 <= (full.loc[adults, "visits"] > 0).mean() <= 0.75
    assert 0.70 <= (full.loc[children, "visits"] > 0).mean() <= 0.88
    assert 2.0 <= full.loc[full["visits"] > 0, "visits"].mean() <= 4.0


def test_churn_and_plan_switching(small_data):
    enr = read(small_data, "enrollment")
    month = pd.to_datetime(enr["month"])
    jan = enr[month.dt.month == 1].assign(year=month.dt.year)
    by_year = {y: g.set_index("member_id")["plan_type"] for y, g in jan.groupby("year")}
    left = 1 - len(by_year[2019].index.intersection(by_year[2018].index)) / len(by_year[2018])
    assert 0.05 <= left <= 0.25  # members leaving MassHealth within a year
    stayers = by_year[2019].index.intersection(by_year[2018].index)
    switched = (by_year[2019][stayers] != by_year[2018][stayers]).mean()
    assert 0.03 <= switched <= 0.25
    assert month.min() == pd.Timestamp("2017-01-01") and month.max() == pd.Timestamp("2022-12-01")


def test_risk_scores_correlate_with_cost(small_data, member_years):
    risk = read(small_data, "risk_scores").set_index(["member_id", "year"])["risk_score"]
    cost = member_years.set_index(["member_id", "year"])["cost"]
    joined = pd.concat([risk, cost], axis=1, join="inner")
    assert len(joined) == len(risk)
    assert joined.corr(method="spearman").iloc[0, 1] > 0.3


# -- planted effects -------------------------------------------------------------------------------
def _scored(path) -> pd.DataFrame:
    """ACOs' binomial measures with rates oriented so that higher is better."""
    better = {m.id: m.higher_is_better for m in SLATES.slate("aco")}
    entities = read(path, "entities")
    acos = entities.loc[entities["entity_type"] == "aco", "entity_id"]
    measures = read(path, "measure_results")
    m = measures[measures["entity_id"].isin(acos)].dropna(subset=["denominator"]).copy()
    rate = m["numerator"] / m["denominator"]
    m["score"] = rate.where(m["measure_id"].map(better), 1 - rate)
    return m


def _pooled(scored: pd.DataFrame) -> pd.Series:
    """Denominator-weighted score per (entity, budget period)."""
    weighted = (scored["score"] * scored["denominator"]).groupby([scored["entity_id"], scored["budget_period"]]).sum()
    return weighted / scored.groupby(["entity_id", "budget_period"])["denominator"].sum()


def test_improving_aco_rates_rise(tiny_data):
    aco = truth(tiny_data)["effects"]["improving_aco"]["aco_id"]
    pooled = _pooled(_scored(tiny_data)).unstack()
    change = pooled[5] - pooled[1]
    assert change[aco] > 0.08
    assert change[aco] > change.drop(aco).max()


def test_improving_aco_avoidable_utilization_falls(small_data):
    planted = truth(small_data)["effects"]["improving_aco"]
    util = read(small_data, "utilization")
    ratio = util.groupby(["entity_id", "budget_period"])[["observed", "expected"]].sum()
    ratio = (ratio["observed"] / ratio["expected"])[planted["aco_id"]]
    assert ratio[5] / ratio[1] < 1 - 2 * planted["utilization_ratio_decline_per_bp"]


def test_worsening_domain_dips_in_its_budget_period(tiny_data):
    planted = truth(tiny_data)["effects"]["worsening_domain"]
    bp = planted["budget_period"]
    m = _scored(tiny_data)
    pooled = _pooled(m[m["measure_id"].isin(planted["measure_ids"])].assign(entity_id="all"))["all"]
    assert pooled[bp] < pooled[bp - 1] - 0.04
    assert pooled[bp] < pooled[bp + 1] - 0.04


def test_losing_aco_costs_more_than_its_risk_from_its_budget_period(small_data, member_years):
    """Log of cost over risk score, full years in one ACO: the losing ACO against the others,
    performance years against BP 1 (a difference in differences)."""
    planted = truth(small_data)["effects"]["losing_aco"]
    enr = read(small_data, "enrollment")
    enr["year"] = pd.to_datetime(enr["month"]).dt.year
    in_aco = enr[enr["aco_id"].notna()].groupby(["member_id", "year"])["aco_id"].agg(["first", "nunique", "size"])
    in_aco = in_aco[(in_aco["nunique"] == 1) & (in_aco["size"] == 12)]["first"].rename("aco_id")
    risk = read(small_data, "risk_scores").set_index(["member_id", "year"])["risk_score"]
    df = member_years.set_index(["member_id", "year"]).join(in_aco, how="inner").join(risk)
    df = df[df["cost"] > 0].reset_index()
    df["log_ratio"] = np.log(df["cost"] / df["risk_score"])
    df["late"] = bp_of(pd.to_datetime(df["year"].astype(str) + "-01-01")) >= planted["from_budget_period"]
    df["losing"] = df["aco_id"] == planted["aco_id"]
    mean = df.groupby(["losing", "late"])["log_ratio"].mean()
    did = (mean[True, True] - mean[True, False]) - (mean[False, True] - mean[False, False])
    assert did > np.log(planted["cost_multiplier"]) / 3


def test_spending_trend_is_under_the_target(small_data, member_years):
    planted = truth(small_data)["effects"]["spending_trend"]
    assert planted["direction"] == "under"
    full = member_years[member_years["group"] != "other"]
    pmpm = full.groupby("year")["cost"].sum() / full.groupby("year")["months"].sum()
    slope = np.polyfit(pmpm.index, np.log(pmpm.to_numpy()), 1)[0]
    assert slope < np.log1p(planted["target_trend"])
    assert slope > 0  # costs still grow
