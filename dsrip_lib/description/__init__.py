"""The program definition written as the program description the CMS integrated-care-model toolkit asks for.

The toolkit's Part 2 questions are data (``params/toolkit/icm_program_description.yaml``,
read by :mod:`dsrip_lib.description.questions`); each names the program-definition fields
that answer it and a renderer (:mod:`dsrip_lib.description.renderers`) that writes the
answer in plain English; :mod:`dsrip_lib.description.answers` answers every question for one
program and lists those its definition leaves unanswered.
"""

from dsrip_lib.description.answers import UNANSWERED, completeness, describe
from dsrip_lib.description.questions import Toolkit, load_toolkit

__all__ = ["UNANSWERED", "Toolkit", "completeness", "describe", "load_toolkit"]
