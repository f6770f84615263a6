"""Where a contract table's files are in a data directory, and reading a CSV with the contract's types."""

from __future__ import annotations

from pathlib import Path

import pyarrow as arrow
import pyarrow.csv as arrow_csv

from dsrip_lib.inputs.tables import TableSpec


def locate(data_dir: str | Path, name: str) -> Path | None:
    """The file of table ``name`` in ``data_dir``: ``<name>.parquet`` (a file or a directory of
    Parquet part files), else ``<name>.csv``; None when neither exists."""
    for candidate in (Path(data_dir) / f"{name}.parquet", Path(data_dir) / f"{name}.csv"):
        if candidate.exists():
            return candidate
    return None


def table_files(location: Path) -> list[Path]:
    """The files holding a table: the file itself, or a directory's Parquet parts (recursively,
    skipping hidden and ``_``-prefixed files as Spark and pyarrow do)."""
    if location.is_file():
        return [location]
    return sorted(p for p in location.rglob("*.parquet")
                  if p.is_file() and not any(part.startswith((".", "_")) for part in p.relative_to(location).parts))


def csv_reader(path: Path, spec: TableSpec) -> arrow_csv.CSVStreamingReader:
    # Typed by the contract, so identifiers stay strings ("01060" is not 1060).
    return arrow_csv.open_csv(path, convert_options=arrow_csv.ConvertOptions(
        column_types=spec.arrow_schema, strings_can_be_null=True))


def read_csv(path: str | Path, spec: TableSpec) -> arrow.Table:
    """Read a contract table from CSV with the contract's column types (a small table)."""
    return csv_reader(Path(path), spec).read_all()
