"""The inputs: the data contract's code sets and tables, where files are, validation, the dataset."""

from dsrip_lib.inputs.dataset import Dataset, open_dataset
from dsrip_lib.inputs.validation import validate_dir, validate_table

__all__ = ["Dataset", "open_dataset", "validate_dir", "validate_table"]
