"""The contract's code sets: the values a coded column may hold (docs/data_contract.md, "Codes").

Reference data that analysis code imports; no plan type, entity type or category is retyped
elsewhere.
"""

from __future__ import annotations

ELIGIBILITY_GROUPS = ("base_families", "base_disabled", "r2_children", "r2_disabled", "r2_bccdp", "new_adult", "other")
NOT_ACO_ELIGIBLE_GROUP = "other"
# plan types: enrolled in an ACO (model A Partnership Plan, model B Primary Care ACO), an MCO,
# the PCC plan, or fee-for-service (protocol Sec 1, 4.4.4)
ACO_PLAN_TYPES = ("aco_a", "aco_b")
MCO_PLAN_TYPE = "mco"
PCC_PLAN_TYPE = "pcc"
FFS_PLAN_TYPE = "ffs"
PLAN_TYPES = (*ACO_PLAN_TYPES, MCO_PLAN_TYPE, PCC_PLAN_TYPE, FFS_PLAN_TYPE)
PCC_PLAN_ID = "PCC"
ACO_ENTITY_TYPE = "aco"
MCO_ENTITY_TYPE = "mco"
BH_CP_ENTITY_TYPE = "cp_bh"
LTSS_CP_ENTITY_TYPE = "cp_ltss"
CP_ENTITY_TYPES = (BH_CP_ENTITY_TYPE, LTSS_CP_ENTITY_TYPE)
CSA_ENTITY_TYPE = "csa"
ENTITY_TYPES = (ACO_ENTITY_TYPE, MCO_ENTITY_TYPE, *CP_ENTITY_TYPES, CSA_ENTITY_TYPE)
ACO_MODELS = ("A", "B", "C")
MCO_ADMINISTERED_MODEL = "C"  # attributed by PCP assignment (Sec 4.4.4)
PARTNERSHIP_PLAN_MODEL = "A"  # paid a medical capitation; its TCOC is against it (Sec 5.3.2)
PCP_PROVIDER_TYPE = "pcp"
PROVIDER_TYPES = (PCP_PROVIDER_TYPE, "specialist", "hospital", "behavioral_health", "ltss", "pharmacy", "other")
SERVICE_CATEGORIES = ("inpatient", "outpatient", "emergency", "primary_care", "specialist", "behavioral_health",
                      "pharmacy", "ltss", "other")
PRIMARY_CARE = "primary_care"  # the service category of primary-care claims
INPATIENT = "inpatient"  # an inpatient stay's facility claim: a line dated at admission
EMERGENCY = "emergency"  # an emergency department visit
EXCLUSION_CATEGORIES = ("hep_c_drug", "high_cost_drug", "ltss", "dsrip", "quality_incentive", "admin")
SURVEYS = ("primary_care", "behavioral_health", "ltss")
SEXES = ("F", "M")
# participation plans (protocol Sec 3.2.1 preliminary, Sec 3.2.2 full)
PRELIMINARY_PLAN, FULL_PLAN = "preliminary", "full"
PARTICIPATION_PLANS = (PRELIMINARY_PLAN, FULL_PLAN)
# Sec 4.1, 4.6, 4.7, 5.1.3: kinds of the contract's funding_moves (dsrip_lib.payments.moves)
FUNDING_MOVE_KINDS = ("redistribution", "carry_forward", "investment_shift", "allocation_change")
# the payees held to participation plans, budgets and progress reports (Sec 3.2-3.3, 5.5.1)
PLAN_ENTITY_TYPES = (ACO_ENTITY_TYPE, *CP_ENTITY_TYPES, CSA_ENTITY_TYPE)
# the periods of a driver diagram's accountability targets: the pre-implementation period and
# performance years 1-3 (Connecticut SIM driver diagram; contract table target_actuals)
TARGET_PERIODS = ("PIP", "PY1", "PY2", "PY3")


def calendar_of(entity_type: str) -> str:
    """The budget-period calendar of a payee: ACOs on the ACO calendar, CPs and CSAs on the CP/CSA
    calendar (protocol Sec 3.1.1, 3.1.2)."""
    return "aco" if entity_type == ACO_ENTITY_TYPE else "cp"
