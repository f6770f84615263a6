"""Generator configuration: profiles and calibration (``params/synth/*.yaml``) and the program.

The calibration is data, not code: magnitudes live in ``params/synth/synth.yaml`` (cited in
``docs/synthetic_data.md``) and the measure slates in ``params/synth/measure_slates.yaml``.
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
from dsrip_lib.inputs.codes import (
    ACO_ENTITY_TYPE,
    BH_CP_ENTITY_TYPE,
    CSA_ENTITY_TYPE,
    LTSS_CP_ENTITY_TYPE,
    NOT_ACO_ELIGIBLE_GROUP,
)
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


# entity type -> key of the program's CP/CSA domain weights (Exhibits 43-45)
CP_DOMAIN_WEIGHTS_KEY = {BH_CP_ENTITY_TYPE: "bh_cp", LTSS_CP_ENTITY_TYPE: "ltss_cp", CSA_ENTITY_TYPE: "csa"}


def _program_domains(program: Program, entity_type: str) -> set[str]:
    """Quality domains of an entity type: the ACO domains (Exhibit 32) or the CP/CSA domains."""
    if entity_type == ACO_ENTITY_TYPE:
        return {d.key for d in program.quality_domains or []}
    weights = program.cp_accountability.domain_weights if program.cp_accountability else {}
    return set(weights.get(CP_DOMAIN_WEIGHTS_KEY.get(entity_type, ""), {}))


@dataclass(frozen=True)
class Config:
    """Everything the generator reads: profile, calibration, measure slates, program."""

    profile: Profile
    calibration: dict[str, Any]
    slates: dict[str, Any]          # entity type -> measures, utilization, surveys
    program: Program
    calendar: MonthGrid

    @classmethod
    def load(cls, profile: str) -> Config:
        """The configuration of ``profile``; the slates' domains must be the program's.

        Raises
        ------
        ParameterError
            Unknown profile, or a slate domain the program definition does not have.
        """
        prof = get_profile(profile)
        program = load_program()
        slates = _read_yaml("measure_slates.yaml")
        for entity_type, slate in slates.items():
            domains = _program_domains(program, entity_type)
            unknown = {m["domain"] for m in slate["measures"]} - domains
            if unknown:
                raise ParameterError(f"{PARAMS_DIR / 'measure_slates.yaml'}: {entity_type} domains {sorted(unknown)} "
                                     f"are not domains of program {program.name!r} ({sorted(domains)})")
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

    def aco_eligible(self, group: np.ndarray) -> np.ndarray:
        """Whether members of each eligibility-group index are ACO-eligible (Sec 5.2.1.1)."""
        return np.array(self.groups)[group] != NOT_ACO_ELIGIBLE_GROUP
