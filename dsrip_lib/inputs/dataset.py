"""A data directory opened as lazy Ibis tables on a backend (in-process DuckDB by default).

Claims-scale steps are Ibis expressions over ``Dataset.table(name)``, so the same code runs on
DuckDB, on Spark, or on another Ibis backend that can read the files
(:func:`~dsrip_lib.inputs.backends.connect`: ``"duckdb"``, ``"pyspark"``, a connection URL, or
an Ibis backend object you connected yourself, e.g. ``ibis.pyspark.connect(session)``).

Parquet tables are registered with the backend's ``read_parquet`` (nothing is loaded until an
expression runs), each under a view name unique to this dataset. CSV tables (small by contract)
are read with the contract's column types, so identifiers stay strings, and handed to the
backend as in-memory tables. Every table is cast to the contract's column types, whatever
integer or string width its file used (:func:`~dsrip_lib.inputs.backends.register`).
"""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from dsrip_lib.errors import InputValidationError
from dsrip_lib.inputs.backends import connect, register
from dsrip_lib.inputs.files import locate, table_files
from dsrip_lib.inputs.tables import ProgramArg, tables
from dsrip_lib.inputs.validation import validate_dir


class Dataset:
    """The contract tables of one data directory on one Ibis backend.

    Use :func:`open_dataset` to make one.
    """

    def __init__(self, data_dir: Path, con: BaseBackend, program: ProgramArg = None):
        self.data_dir = data_dir
        self.con = con
        self._specs = tables(program)
        self._locations = {n: loc for n in self._specs if (loc := locate(data_dir, n)) is not None}
        self._tables: dict[str, ibis.Table] = {}

    def __repr__(self) -> str:
        return f"Dataset({str(self.data_dir)!r}, tables={sorted(self._locations)}, backend={self.con.name!r})"

    @property
    def names(self) -> list[str]:
        """The contract tables present, in the contract's order."""
        return list(self._locations)

    @property
    def files(self) -> list[Path]:
        """Every input file of the tables present (Parquet parts included), for the report manifest."""
        return [f for loc in self._locations.values() for f in table_files(loc)]

    def has(self, name: str) -> bool:
        """Whether table ``name`` is present (optional tables may be absent)."""
        return name in self._locations

    def table(self, name: str) -> ibis.Table:
        """Table ``name`` as a lazy Ibis table with the contract's column types."""
        if name not in self._tables:
            self._tables[name] = self._register(name)
        return self._tables[name]

    def to_pandas(self, name: str) -> pd.DataFrame:
        """Table ``name`` as a pandas frame (for entity-level tables; claims-scale tables stay in Ibis)."""
        return self.table(name).to_pandas()

    def _register(self, name: str) -> ibis.Table:
        if name not in self._specs:
            raise InputValidationError(f"unknown table {name!r}; the contract's tables: {', '.join(self._specs)}")
        location = self._locations.get(name)
        if location is None:
            raise InputValidationError(f"{self.data_dir}: table {name!r} is absent (no {name}.parquet or {name}.csv)")
        return register(self.con, location, self._specs[name])


def open_dataset(data_dir: str | Path, backend: str | BaseBackend = "duckdb", validate: bool = True,
                 program: ProgramArg = None) -> Dataset:
    """Open a data directory as Ibis tables, checking it against the data contract first.

    Parameters
    ----------
    data_dir
        A directory of contract tables (``docs/data_contract.md``).
    backend
        ``"duckdb"`` (in-process, the default), ``"pyspark"``, an Ibis connection URL, or an Ibis
        backend (:func:`~dsrip_lib.inputs.backends.connect`).
    validate
        Check the whole directory once (:func:`~dsrip_lib.inputs.validation.validate_dir`) before returning.
    program
        The program whose calendar bounds the contract's dates (a Program, name or path;
        default MassHealth DSRIP).

    Raises
    ------
    InputValidationError
        When the directory breaks the contract (no dataset is returned; on an engine other than
        DuckDB the check leaves only temporary views of the files in its session).
    """
    data_dir = Path(data_dir)
    if not validate and not data_dir.is_dir():
        raise InputValidationError(f"data directory {data_dir} does not exist or is not a directory")
    con = connect(backend)
    if validate:  # its cross-row rules run on this backend
        validate_dir(data_dir, program=program, backend=con)
    return Dataset(data_dir, con, program)
