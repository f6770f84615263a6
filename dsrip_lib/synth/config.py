"""Generator configuration: profiles and calibration (``params/synth/*.yaml``) and the program.

The calibration is data, not code: magnitudes live in ``params/synth/synth.yaml`` (cited in
``docs/synthetic_data.md``) and the measures' typical rates in ``params/synth/measure_slates.yaml``;
the measures themselves (domains, kinds, directions) are the program's slates (Appendix D).
Protocol numbers (calendar, exhibits, thresholds, quality domains) come from the program definition.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from dsrip_lib.errors import ParameterError
from dsrip_lib.inputs.codes import NOT_ACO_ELIGIBLE_GROUP
from dsrip_lib.params import read_mapping
from dsrip_lib.program import Program, load_program

PARAMS_DIR = Path(__file__).resolve().parents[2] / "params" / "synth"
N_MONTHS_PER_YEAR = 12


def _read_yaml(name: str) -> dict[str, Any]:
    return read_mapping(PARAMS_DIR / name, "synthetic-data configuration")


@dataclass(frozen=True)
class Profile:
    """Size of a synthetic state: members, block size (members per part file), entity counts."""

    name: str
    members: int
    block_size: int
    acos: dict[str, int]
    mcos: int
    cp_bh: int
    cp_ltss: int
    csas: int
    members_per_pcp: int
    late_joiners: int

    @property
    def n_blocks(self) -> int:
        return -(-self.members // self.block_size)


def profile_names() -> list[str]:
    """Names of the configured profiles (tiny, small, state)."""
    return list(_read_yaml("synth.yaml")["profiles"])


def get_profile(name: str) -> Profile:
    """The profile called ``name``.

    Raises
    ------
    ParameterError
        If no such profile is configured.
    """
    profiles = _read_yaml("synth.yaml")["profiles"]
    if not isinstance(name, str) or name not in profiles:
        raise ParameterError(
            f"unknown synthetic profile {name!r}; expected one of {', '.join(profiles)} "
            f"({PARAMS_DIR / 'synth.yaml'})"
        )
    return Profile(name=name, **profiles[name])


@dataclass(frozen=True)
class MonthGrid:
    """The months of the synthetic state (baseline year to the last budget period) and the ACO
    and CP budget periods on them.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 3.1.1 (ACO budget periods), Sec 3.1.2 (CP/CSA budget periods)
    and Sec 5.2.1.2 (CY2017 baseline), read from the program definition.
    """

    first_month: dt.date
    n_months: int
    budget_periods: dict[int, tuple[dt.date, dt.date]]      # ACO calendar
    cp_budget_periods: dict[int, tuple[dt.date, dt.date]]   # CP/CSA calendar

    @classmethod
    def from_program(cls, program: Program) -> MonthGrid:
        cal = program.calendar
        periods = {kind: {p.number: (p.start, p.end) for p in cal.budget_periods(kind)} for kind in ("aco", "cp")}
        first = cal.baseline_period.start
        last = max(end for _, end in periods["aco"].values())
        n_months = (last.year - first.year) * N_MONTHS_PER_YEAR + last.month - first.month + 1
        return cls(first, n_months, periods["aco"], periods["cp"])

    @cached_property
    def months(self) -> np.ndarray:
        """First day of every month, as numpy datetime64[D]."""
        start = np.datetime64(self.first_month, "M")
        return (start + np.arange(self.n_months)).astype("datetime64[D]")

    @cached_property
    def month_ends(self) -> np.ndarray:
        """Last day of every month."""
        start = np.datetime64(self.first_month, "M")
        return (start + np.arange(1, self.n_months + 1)).astype("datetime64[D]") - np.timedelta64(1, "D")

    @property
    def first_year(self) -> int:
        return self.first_month.year

    @property
    def n_years(self) -> int:
        return self.n_months // N_MONTHS_PER_YEAR

    def month_index(self, day: dt.date | str) -> int:
        """Index of the month containing ``day``."""
        day = np.datetime64(day, "M")
        return int((day - np.datetime64(self.first_month, "M")).astype(int))

    def bp_of_month(self, kind: str = "aco") -> np.ndarray:
        """Budget period (ACO or ``"cp"`` calendar) of every month (-1 before the Prep period)."""
        periods = self.budget_periods if kind == "aco" else self.cp_budget_periods
        out = np.full(self.n_months, -1)
        for number, (start, end) in periods.items():
            out[self.month_index(start): self.month_index(end) + 1] = number
        return out

    def bp_months(self, number: int) -> slice:
        start, end = self.budget_periods[number]
        return slice(self.month_index(start), self.month_index(end) + 1)


# calibration section -> the program kinds it may hold (docs/synthetic_data.md)
SECTION_KINDS = {"measures": ("binomial", "ratio", "engagement"), "utilization": ("utilization",)}


def _slate(program: Program, entity_type: str, calibration: dict[str, Any]) -> dict[str, Any]:
    """One entity type's calibration joined to its program measures: each measure and
    utilization entry gains the program's domain, kind and direction; survey composites must be
    program measures ``<survey>.<composite>``.

    Raises
    ------
    ParameterError
        A calibrated id that is not a measure of the slate, or one of the wrong kind.
    """
    where = f"{PARAMS_DIR / 'measure_slates.yaml'}: {entity_type}"
    slates = program.require("measures")

    def measure(measure_id: str, kinds: tuple[str, ...]):
        try:
            m = slates.measure(entity_type, measure_id)
        except ParameterError as exc:
            raise ParameterError(f"{where}: {exc}") from None
        if m.kind not in kinds:
            raise ParameterError(f"{where}: {measure_id} is a {m.kind} measure in program {program.name!r}, "
                                 f"expected one of {list(kinds)}")
        return m

    out = {"surveys": calibration.get("surveys", {})}
    for section, kinds in SECTION_KINDS.items():
        out[section] = []
        for entry in calibration.get(section, []):
            m = measure(entry["id"], kinds)
            out[section].append({**entry, "domain": m.domain, "kind": m.kind, "higher_is_better": m.higher_is_better})
    for survey, composites in out["surveys"].items():
        for composite in composites:
            measure(f"{survey}.{composite}", ("survey",))
    return out


@dataclass(frozen=True)
class Config:
    """Everything the generator reads: profile, calibration, measure slates, program."""

    profile: Profile
    calibration: dict[str, Any]
    slates: dict[str, Any]          # entity type -> measures, utilization, surveys (calibration + program)
    program: Program
    calendar: MonthGrid

    @classmethod
    def load(cls, profile: str) -> Config:
        """The configuration of ``profile``; measures come from the program's slates (Appendix D),
        their calibration from ``measure_slates.yaml``.

        Raises
        ------
        ParameterError
            Unknown profile, or a calibrated measure the program's slate does not have.
        """
        prof = get_profile(profile)
        program = load_program()
        calibration = _read_yaml("measure_slates.yaml")
        slates = {entity_type: _slate(program, entity_type, section) for entity_type, section in calibration.items()}
        return cls(prof, _read_yaml("synth.yaml"), slates, program, MonthGrid.from_program(program))

    @property
    def population(self) -> dict[str, Any]:
        return self.calibration["population"]

    @property
    def providers(self) -> dict[str, Any]:
        return self.calibration["providers"]

    @property
    def costs(self) -> dict[str, Any]:
        return self.calibration["costs"]

    @property
    def effects(self) -> dict[str, Any]:
        return self.calibration["effects"]

    @property
    def quality(self) -> dict[str, Any]:
        return self.calibration["quality"]

    @cached_property
    def groups(self) -> list[str]:
        return list(self.population["eligibility_groups"])

    def group_param(self, key: str) -> np.ndarray:
        """One calibration value per eligibility group, in ``groups`` order."""
        return np.array([self.population["eligibility_groups"][g][key] for g in self.groups], dtype=float)

    @cached_property
    def reference_scale(self) -> float:
        """How many members of the reference profile (a MassHealth-sized state) one member here stands for.

        Entity-level amounts that do not come from member-level data (DSTI payments, survey
        frames) are drawn at the reference profile's size, scaled by this, so that a smaller
        profile is a coarser sample of the same state, not a state of smaller programs.
        """
        return self.calibration["profiles"][self.calibration["reference_profile"]]["members"] / self.profile.members

    def aco_eligible(self, group: np.ndarray) -> np.ndarray:
        """Whether members of each eligibility-group index are ACO-eligible (Sec 5.2.1.1)."""
        return np.array(self.groups)[group] != NOT_ACO_ELIGIBLE_GROUP
