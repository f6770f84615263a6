"""The protocol as data: the calendar, the exhibit models by protocol section, the loader."""

from dsrip_lib.program.calendar import BudgetPeriod, Calendar, DateRange, lookback_window
from dsrip_lib.program.definition import Program
from dsrip_lib.program.loader import DEFAULT_PROGRAM, load_program, program_path
from dsrip_lib.program.measures import Measure, MeasureBenchmarks, MeasureSlates

__all__ = [
    "BudgetPeriod", "Calendar", "DateRange", "DEFAULT_PROGRAM", "Measure", "MeasureBenchmarks", "MeasureSlates",
    "Program", "load_program", "lookback_window", "program_path",
]
