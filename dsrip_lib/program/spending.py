"""Spending from claims: included spending categories, eligibility-group codes, truncation.

References
----------
MassHealth DSRIP Protocol, Sec 5.2.1.2 (baseline and performance PMPMs, eligibility groups,
Included Spending Categories, the DSTI Glide Path exception), Sec 5.3.2 (TCOC benchmarks).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from dsrip_lib.program.values import FrozenModel


class Truncation(FrozenModel):
    """Optional cap on each member's included spending in a calendar year.

    Not in the MassHealth protocol: an option the State may use (high-cost claim limits, CMS
    ICM proposal toolkit). ``method``: ``none`` (default), ``dollar_cap`` (``cap_usd`` per
    member-year) or ``percentile`` (cap at the ``percentile`` of member-years with spending in
    the same calendar year).
    """

    method: Literal["none", "dollar_cap", "percentile"] = "none"
    cap_usd: Annotated[float, Field(gt=0)] | None = None
    percentile: Annotated[float, Field(gt=0, lt=1)] | None = None

    @model_validator(mode="after")
    def _one_cap(self):
        needs = {"none": (), "dollar_cap": ("cap_usd",), "percentile": ("percentile",)}[self.method]
        for name in ("cap_usd", "percentile"):
            given = getattr(self, name) is not None
            if given != (name in needs):
                raise ValueError(f"truncation method {self.method!r} {'needs' if not given else 'takes no'} {name}")
        return self


class Spending(FrozenModel):
    """How spending is counted for the State's spending growth and ACO TCOC.

    Attributes
    ----------
    excluded_categories
        Contract exclusion-category code -> the protocol's words; claims carrying one of these
        codes never reach a PMPM. Checked against the contract's codes by the spending stage.
    dsti_glide_path_savings
        Whether DSTI Glide Path savings are subtracted from the ACO population's weighted
        risk-adjusted PMPM (the one DSRIP expenditure not simply excluded).
    eligibility_groups
        The protocol's eligibility group name -> the contract's ``eligibility_group`` code.
    truncation
        Optional high-cost truncation (off by default).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 (Included Spending Categories, lines 1330-1341;
    eligibility groups, line 1309; DSTI Glide Path savings, lines 1322-1324).
    """

    excluded_categories: Annotated[dict[str, str], Field(min_length=1)]
    dsti_glide_path_savings: bool = True
    eligibility_groups: Annotated[dict[str, str], Field(min_length=1)]
    truncation: Truncation = Truncation()

    @model_validator(mode="after")
    def _distinct_codes(self):
        codes = list(self.eligibility_groups.values())
        if len(codes) != len(set(codes)):
            raise ValueError(f"eligibility_groups: two names map to one code ({codes})")
        return self

    @property
    def group_codes(self) -> list[str]:
        """The eligibility-group codes in the protocol's order."""
        return list(self.eligibility_groups.values())

    @property
    def group_names(self) -> dict[str, str]:
        """Code -> the protocol's group name."""
        return {code: name for name, code in self.eligibility_groups.items()}
