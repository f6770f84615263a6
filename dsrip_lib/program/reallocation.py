"""Where lost expenditure authority and undistributed funds may go: later periods, streams, years.

References
----------
MassHealth DSRIP Protocol, Sec 4.7 (carry forward), Sec 5.1.1 (applying a reduction),
Sec 5.1.3 (redistribution).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from dsrip_lib.errors import ParameterError
from dsrip_lib.program.values import FrozenModel

# A stream's sub-streams named one by one, or "all" of them.
SubStreams = Literal["all"] | Annotated[list[str], Field(min_length=1)]


class Reallocation(FrozenModel):
    """Rules for moving DSRIP money between budget periods, streams and years.

    Attributes
    ----------
    reduction_applied_after_periods
        A budget period's reduced authority is reflected this many periods later (Sec 5.1.1:
        BP 2's reduction in BP 4); with no such period it is recouped or paid back.
    redistribution_targets
        Exhibit 1 stream -> the sub-streams undistributed funds may be redistributed to (Sec 5.1.3).
    carry_forward_streams
        Exhibit 1 stream -> the sub-streams with carry-forward authority (Sec 4.7).
    """

    reduction_applied_after_periods: Annotated[int, Field(ge=1)]
    redistribution_targets: dict[str, SubStreams]
    carry_forward_streams: dict[str, SubStreams]

    def redistribution_allowed(self, stream: str, substream: str) -> bool:
        """Whether undistributed funds may be redistributed to ``stream``/``substream`` (Sec 5.1.3)."""
        return _listed(self.redistribution_targets, stream, substream)

    def carry_forward_allowed(self, stream: str, substream: str) -> bool:
        """Whether ``stream``/``substream`` has carry-forward authority (Sec 4.7)."""
        return _listed(self.carry_forward_streams, stream, substream)


def _listed(table: dict[str, SubStreams], stream: str, substream: str) -> bool:
    if not stream or not substream:
        raise ParameterError("a stream and a sub-stream are both needed")
    named = table.get(stream)
    return named is not None and (named == "all" or substream in named)
