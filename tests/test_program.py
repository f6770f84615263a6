"""The MassHealth program definition against the protocol's exhibits, and its validation.

Expected numbers are read from /work/shared/reference/masshealth_dsrip_protocol.txt
(line numbers cited), never from the YAML.
"""

import pytest

from dsrip_lib.errors import ParameterError
from dsrip_lib.program import load_program


@pytest.fixture(scope="module")
def program():
    return load_program("masshealth_dsrip")


def test_exhibit_26_adoption_targets(program):
    # Exhibit 26, lines 1257-1272: NA, 25%, 30%, 35%, 40%, 45%.
    assert [program.adoption_target(bp) for bp in range(1, 6)] == pytest.approx([0.25, 0.30, 0.35, 0.40, 0.45])
    with pytest.raises(ParameterError, match="period 0"):
        program.adoption_target(0)


def test_apm_share_threshold(program):
    # Sec 5.2.1.1, line 1255: "more than 20% of their non-primary care services".
    assert program.adoption_apm_share_threshold == pytest.approx(0.20)
