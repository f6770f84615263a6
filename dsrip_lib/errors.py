"""The project's exception hierarchy: the CLI prints these without a traceback (exit 2)."""


class DsripError(Exception):
    """A problem the user can fix: bad input, bad parameters, a failed report."""


class InputValidationError(DsripError):
    """An input table breaks the data contract (docs/data_contract.md)."""


class ParameterError(DsripError):
    """A run parameter is missing, unknown or of the wrong type."""


class ReportError(DsripError):
    """A notebook failed or timed out; no report directory was written."""
