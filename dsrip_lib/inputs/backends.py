"""The engine a run computes on, and the contract tables registered on it.

The run parameter ``backend`` names an Ibis backend (:func:`connect`): the embedded DuckDB by
default, a local or remote Spark session (``pyspark``), or any Ibis backend's URL. Tables are
registered on it by :func:`register` under a name unique to one registration, so two data
directories open at once on one shared connection or Spark session never see each other's rows.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import ibis
import ibis.expr.types as ir
import pyarrow as arrow
from ibis.backends import BaseBackend

from dsrip_lib.credentials import mask, with_password
from dsrip_lib.errors import ParameterError
from dsrip_lib.inputs.files import read_csv, table_files
from dsrip_lib.inputs.tables import TableSpec

# The embedded DuckDB's settings unless the backend URL gives its own (``duckdb://?memory_limit=8GB``):
# past the memory limit a big state's joins spill to disk instead of failing, and spills go to the
# system's temporary directory (DuckDB's own default is ./.tmp, inside the checkout).
DUCKDB_SETTINGS = {"memory_limit": "3GB", "temp_directory": str(Path(tempfile.gettempdir()) / "dsrip-duckdb")}

# Every Spark session the suite uses: pandas frames (a CSV table, an in-memory table) reach Spark
# through Arrow, which keeps a null a null. Without it a null string arrives from pandas 3 as NaN
# and Spark stores the string 'NaN', which is not null; with the fallback off, a frame Arrow
# cannot carry is an error instead of a silent fallback to that path.
SPARK_SESSION_SETTINGS = {
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
}
# A local session (no ``spark.master`` or ``spark.remote`` given): every core, a driver heap that
# holds a state's shuffles, few shuffle partitions (Spark's default of 200 costs seconds a query
# on 2 cores), no web UI (no port to bind) and no progress bars on the console (a notebook's log).
SPARK_LOCAL_SETTINGS = {
    "spark.master": "local[*]",
    "spark.driver.memory": "4g",
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


def connect(backend: str | BaseBackend = "duckdb") -> BaseBackend:
    """An Ibis backend from a run's ``backend`` parameter.

    * ``"duckdb"``: an in-memory DuckDB with :data:`DUCKDB_SETTINGS`; a
      ``duckdb://[path][?setting=value...]`` URL overrides them (``duckdb://?memory_limit=8GB``);
    * ``"pyspark"``: a local Spark session (:data:`SPARK_LOCAL_SETTINGS`); a
      ``pyspark://?setting=value...`` URL sets Spark settings, e.g. ``spark.master`` for a cluster
      or ``spark.remote`` for a Spark Connect server, which replace the local defaults;
    * another Ibis backend's URL (``ibis.connect``), the password from ``$DSRIP_BACKEND_PASSWORD``;
    * an Ibis backend object, returned as it is.
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
    if backend == "pyspark" or backend.startswith("pyspark://"):
        return _spark(backend)
    if "://" in backend:
        try:  # the password is added here, from the environment, and exists nowhere else
            return ibis.connect(with_password(backend))
        except Exception as exc:  # a driver's message may quote the URL it was given
            raise ParameterError(f"backend {mask(backend)}: cannot connect: {mask(exc)}") from None
    raise ParameterError(f"backend {backend!r}: expected 'duckdb', 'pyspark', an Ibis connection URL "
                         "(e.g. 'duckdb:///path/file.ddb') or an Ibis backend object")


def _spark(backend: str) -> BaseBackend:
    """A Spark session through Ibis: the process's session if it has one, else a new one."""
    url = urlsplit(backend if "://" in backend else "pyspark://")
    if url.netloc or url.path.strip("/"):
        raise ParameterError(f"backend {mask(backend)}: a pyspark URL takes Spark settings as query parameters "
                             "only, e.g. 'pyspark://?spark.master=spark://head:7077' (docs/scale.md)")
    given = dict(parse_qsl(url.query))
    local = not {"spark.master", "spark.remote"} & given.keys()
    settings = {**(SPARK_LOCAL_SETTINGS if local else {}), **given}
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ParameterError(f"backend {mask(backend)}: pyspark is not installed ({exc}); install the spark "
                             "extra (requirements-spark.lock), see docs/scale.md") from None
    builder = SparkSession.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:  # a missing Java, or Spark Connect's client libraries, fails here
        return ibis.pyspark.connect(builder.getOrCreate(), **SPARK_SESSION_SETTINGS)
    except Exception as exc:
        raise ParameterError(f"backend {mask(backend)}: cannot start Spark: {mask(exc)}") from None


def unique_name(name: str) -> str:
    """A view name for table ``name`` that no other registration uses."""
    return f"dsrip_{name}_{uuid.uuid4().hex[:12]}"


def register(con: BaseBackend, location: Path, spec: TableSpec, columns: list[str] | None = None) -> ir.Table:
    """Table ``spec`` from its file(s) at ``location`` as a lazy Ibis table on ``con``: ``columns``
    (default all the contract's) cast to the contract's types.

    Parquet is read where it lies: DuckDB takes the list of part files, which it cannot find in a
    directory itself; Spark and other engines take one path, the file or the directory of parts
    (Spark skips hidden and ``_`` files as :func:`~dsrip_lib.inputs.files.table_files` does). A CSV
    (small by contract) is read with the contract's types and handed over as an in-memory table.
    """
    names = list(columns or spec.column_names)
    if location.suffix == ".csv":
        table = ibis.memtable(read_csv(location, spec).select(names))
    else:
        files = table_files(location)
        source = [str(p) for p in files] if con.name == "duckdb" else str(location)
        table = con.read_parquet(source, table_name=unique_name(spec.name))
    types = {f.name: f.type for f in spec.arrow_schema}
    return table.select(*names).cast(ibis.Schema.from_pyarrow(arrow.schema([(n, types[n]) for n in names])))
