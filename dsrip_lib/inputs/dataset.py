"""A data directory opened as lazy Ibis tables on a backend (in-process DuckDB by default).

Claims-scale steps are Ibis expressions over ``Dataset.table(name)``, so the same code runs on
DuckDB, or on another Ibis backend that can read the files:

* ``backend="duckdb"`` (default): a fresh in-process DuckDB (``ibis.duckdb.connect()``);
* an Ibis connection URL, e.g. ``"duckdb:///srv/dsrip/cache.ddb"`` or ``"pyspark://"``
  (``ibis.connect(url)``; the backend must implement ``read_parquet``);
* an Ibis backend object you connected yourself (e.g. ``ibis.pyspark.connect(session)``).

Parquet tables are registered with the backend's ``read_parquet`` (nothing is loaded until an
expression runs). CSV tables (small by contract) are read with the contract's column types, so
identifiers stay strings, and handed to the backend as in-memory tables. Every table is cast to
the contract's column types, whatever integer or string width its file used.
"""

from __future__ import annotations

import tempfile
from urllib.parse import parse_qsl, urlsplit

from pathlib import Path

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from dsrip_lib.credentials import mask, with_password
from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.inputs.files import locate, read_csv, table_files
from dsrip_lib.inputs.tables import ProgramArg, tables
from dsrip_lib.inputs.validation import validate_dir


# The embedded DuckDB's settings unless the backend URL gives its own (``duckdb://?memory_limit=8GB``):
# past the memory limit a big state's joins spill to disk instead of failing, and spills go to the
# system's temporary directory (DuckDB's own default is ./.tmp, inside the checkout).
DUCKDB_SETTINGS = {"memory_limit": "3GB", "temp_directory": str(Path(tempfile.gettempdir()) / "dsrip-duckdb")}


def connect(backend: str | BaseBackend = "duckdb") -> BaseBackend:
    """An Ibis backend from a run's ``backend`` parameter: ``"duckdb"``, a connection URL, or a backend.

    ``"duckdb"`` is an in-memory DuckDB with :data:`DUCKDB_SETTINGS`; a ``duckdb://[path][?setting=value...]``
    URL overrides them (``duckdb://?memory_limit=8GB``), so the memory limit is a run parameter.
    """
    if isinstance(backend, BaseBackend):
        return backend
    if backend == "duckdb" or backend.startswith("duckdb://"):
        url = urlsplit(backend if "://" in backend else "duckdb://")
        settings = {**DUCKDB_SETTINGS, **dict(parse_qsl(url.query))}
        database = (url.netloc + url.path) or ":memory:"
        try:
            return ibis.duckdb.connect(database, **settings)
        except Exception as exc:
            raise ParameterError(f"backend {mask(backend)}: cannot open DuckDB: {mask(exc)}") from None
    if "://" in backend:
        try:  # the password is added here, from the environment, and exists nowhere else
            return ibis.connect(with_password(backend))
        except Exception as exc:  # a driver's message may quote the URL it was given
            raise ParameterError(f"backend {mask(backend)}: cannot connect: {mask(exc)}") from None
    raise ParameterError(f"backend {backend!r}: expected 'duckdb', an Ibis connection URL "
                         "(e.g. 'duckdb:///path/file.ddb') or an Ibis backend object")


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
        spec = self._specs[name]
        if location.suffix == ".csv":
            table = ibis.memtable(read_csv(location, spec))
        else:
            table = self.con.read_parquet([str(p) for p in table_files(location)], table_name=name)
        return table.select(*spec.column_names).cast(ibis.Schema.from_pyarrow(spec.arrow_schema))


def open_dataset(data_dir: str | Path, backend: str | BaseBackend = "duckdb", validate: bool = True,
                 program: ProgramArg = None) -> Dataset:
    """Open a data directory as Ibis tables, checking it against the data contract first.

    Parameters
    ----------
    data_dir
        A directory of contract tables (``docs/data_contract.md``).
    backend
        ``"duckdb"`` (in-process, the default), an Ibis connection URL, or an Ibis backend.
    validate
        Check the whole directory once (:func:`~dsrip_lib.inputs.validation.validate_dir`) before returning.
    program
        The program whose calendar bounds the contract's dates (a Program, name or path;
        default MassHealth DSRIP).

    Raises
    ------
    InputValidationError
        When the directory breaks the contract (nothing is registered on the backend).
    """
    data_dir = Path(data_dir)
    if validate:
        validate_dir(data_dir, program=program)
    elif not data_dir.is_dir():
        raise InputValidationError(f"data directory {data_dir} does not exist or is not a directory")
    return Dataset(data_dir, connect(backend), program)
