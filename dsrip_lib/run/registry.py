"""The registry of reports: name -> notebook, options model, and whether it reads the data contract.

Adding a report is one line in ``REPORTS``. ``dsrip report`` runs every registered report
(in this order) unless the run parameters name a subset.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from dsrip_lib.errors import ParameterError

# What the runner injects into every notebook's parameters cell, beside the report's options.
NOTEBOOK_PARAMETERS = ("run_id", "program", "data_dir", "backend", "options", "output_dir", "data_validated",
                       "stage_cache")


class NoOptions(BaseModel):
    """Options model of a report that takes none: any key is refused."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class ReportSpec:
    """A registered report.

    Attributes
    ----------
    notebook
        Path of the notebook, relative to the repository root.
    options
        ``"module:Model"`` of the report's pydantic options model (``extra="forbid"``),
        or None when the report takes no options.
    contract_data
        Whether the report reads the contract tables of ``data_dir``: the runner then
        validates the directory once, before any kernel starts.
    headline
        Keys of the report's ``results.json`` shown beside it in the run's ``index.html`` and
        compared across the grid by ``dsrip sweep`` (the values come from ``results.json`` only).
    cost
        Rough relative cost of the report's own work at state scale (stages it shares with
        others not counted). The runner starts the costliest first, so that its worker pool does
        not end on a long report running alone (longest-processing-time-first); it changes no
        output, and the reports keep this order everywhere else.
    """

    notebook: str
    options: str | None = None
    contract_data: bool = True
    headline: tuple[str, ...] = ()
    cost: int = 1

    def options_model(self) -> type[BaseModel]:
        """Import and return the options model named by ``options``."""
        if self.options is None:
            return NoOptions
        module_name, _, attr = self.options.partition(":")
        model = getattr(importlib.import_module(module_name), attr, None)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise ParameterError(f"report options {self.options!r} is not a pydantic model")
        return model


REPORTS: dict[str, ReportSpec] = {
    "attribution": ReportSpec("notebooks/attribution.ipynb", "dsrip_lib.reports.attribution:AttributionOptions",
                              headline=("attributed_member_months", "adoption_rate_bp5", "chc_share_last_period"),
                              cost=2),
    "tcoc_benchmarks": ReportSpec("notebooks/tcoc_benchmarks.ipynb", "dsrip_lib.reports.tcoc_benchmarks:TcocOptions",
                                  headline=("percent_reduction_2022", "gap_to_goal_score_bp3",
                                            "gap_to_goal_score_bp5")),
    "quality_domain_tests": ReportSpec("notebooks/quality_domain_tests.ipynb",
                                       "dsrip_lib.reports.quality_domain_tests:QualityOptions",
                                       headline=("state_quality_score_bp3", "state_quality_score_bp5",
                                                 "state_utilization_score_bp5")),
    "accountability": ReportSpec("notebooks/accountability.ipynb",
                                 "dsrip_lib.reports.accountability:AccountabilityOptions"),
    "payments_quarterly": ReportSpec("notebooks/payments_quarterly.ipynb",
                                     "dsrip_lib.reports.payments_quarterly:PaymentsOptions",
                                     headline=("quarter_payments_usd", "year_to_date_usd", "withheld_balance_usd",
                                               "gating_exceptions")),
    "state_accountability_recoupment": ReportSpec("notebooks/state_accountability_recoupment.ipynb",
                                                  "dsrip_lib.reports.state_accountability_recoupment:StateOptions",
                                                  headline=("state_score_bp3", "state_score_bp5",
                                                            "state_authority_earned_usd_bp5",
                                                            "state_authority_lost_usd_bp5")),
    "targets": ReportSpec("notebooks/targets.ipynb", "dsrip_lib.reports.targets:TargetsOptions",
                          headline=("goals_on_track", "goals_off_track", "diagram_on_track", "diagram_off_track")),
    "program_description": ReportSpec("notebooks/program_description.ipynb",
                                      "dsrip_lib.reports.program_description:DescriptionOptions", contract_data=False,
                                      headline=("masshealth_dsrip.unanswered_count", "ct_pcmh_plus.unanswered_count")),
    "midpoint_assessment": ReportSpec("notebooks/midpoint_assessment.ipynb",
                                      "dsrip_lib.reports.midpoint_assessment:MidpointOptions",
                                      headline=("adoption_rate", "spending_reduction", "findings_on_track",
                                                "findings_off_track", "impact.primary_care_visits.relative_effect",
                                                "impact.inpatient_admissions.relative_effect"),
                                      cost=3),
}
