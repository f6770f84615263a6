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
PCP_PROVIDER_TYPE = "pcp"
PROVIDER_TYPES = (PCP_PROVIDER_TYPE, "specialist", "hospital", "behavioral_health", "ltss", "pharmacy", "other")
SERVICE_CATEGORIES = ("inpatient", "outpatient", "emergency", "primary_care", "specialist", "behavioral_health",
                      "pharmacy", "ltss", "other")
PRIMARY_CARE = "primary_care"  # the service category of primary-care claims
EXCLUSION_CATEGORIES = ("hep_c_drug", "high_cost_drug", "ltss", "dsrip", "quality_incentive", "admin")
SURVEYS = ("primary_care", "behavioral_health", "ltss")
SEXES = ("F", "M")
