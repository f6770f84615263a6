"""Writing the generated tables as Parquet with the data contract's Arrow schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dsrip_lib.inputs.tables import Bounds, table_specs
from dsrip_lib.program import Program

COMPRESSION = "zstd"


def strings(lookup: np.ndarray, index: np.ndarray) -> pa.Array:
    """``lookup[index]`` as an Arrow string array (index -1 or a None entry gives null), without
    building a Python object per row."""
    dictionary = pa.array(list(lookup) + [None], type=pa.string())
    index = np.where(np.asarray(index) < 0, len(lookup), index)
    return dictionary.take(pa.array(index, type=pa.int64()))


def prefixed_ids(prefix: str, start: int, n: int, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``start..start+n-1`` as an Arrow string array."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(start, start + n, dtype=np.int64)), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


class TableWriter:
    """Writes each contract table as ``<table>.parquet``: a single file, or for member-level
    tables of a multi-block profile a directory of part files, one per block."""

    def __init__(self, root: Path, program: Program, partitioned: bool):
        self.root = root
        self.partitioned = partitioned
        self.specs = table_specs(Bounds.from_program(program))

    def _table(self, name: str, columns: dict[str, Any]) -> pa.Table:
        schema = self.specs[name].arrow_schema
        arrays = []
        for field in schema:
            value = columns[field.name]
            if isinstance(value, pd.Series):
                value = value.to_numpy(dtype=object)
            arrays.append(value if isinstance(value, pa.Array) else pa.array(value, type=field.type, from_pandas=True))
        return pa.Table.from_arrays(arrays, schema=schema)

    def write(self, name: str, columns: dict[str, Any] | pd.DataFrame, part: int | None = None) -> None:
        """Write ``columns`` (column name -> array) as table ``name``; ``part`` = block number."""
        if isinstance(columns, pd.DataFrame):
            columns = {c: columns[c] for c in columns.columns}
        table = self._table(name, columns)
        path = self.root / f"{name}.parquet"
        if self.partitioned and part is not None:
            path.mkdir(exist_ok=True)
            path = path / f"part-{part:05d}.parquet"
        pq.write_table(table, path, compression=COMPRESSION)
