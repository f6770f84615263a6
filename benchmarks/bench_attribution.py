"""Claims-plurality attribution at state scale: dsrip_lib (Ibis) vs hand-written DuckDB SQL.

Generates the state profile into data/synthetic/state if missing (slow; done once),
then runs each implementation in its own subprocess on the same Parquet files,
checks they attribute every member identically, and prints wall time, the ratio
Ibis / SQL and each process's peak resident memory. Targets: ratio <= 1.5, peak < 4 GiB.

    .venv/bin/python benchmarks/bench_attribution.py [--data DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "data" / "synthetic" / "state"
LOOKBACK_MONTHS = 24
TABLES = ("claims", "providers")

# The same rule as dsrip_lib.attribution.plurality_attribution, written by hand.
SQL = """
WITH visits AS (
    SELECT c.member_id, p.npi, p.aco_id, c.service_date
    FROM claims c JOIN providers p ON c.provider_npi = p.npi
    WHERE c.primary_care_visit AND p.aco_id IS NOT NULL
      AND c.service_date > CAST(DATE '{as_of}' - INTERVAL {months} MONTH AS DATE)
      AND c.service_date <= DATE '{as_of}'
), per_pcp AS (
    SELECT member_id, npi, aco_id, count(*) AS visits, max(service_date) AS last_visit
    FROM visits GROUP BY member_id, npi, aco_id
)
SELECT * FROM per_pcp
QUALIFY row_number() OVER (PARTITION BY member_id ORDER BY visits DESC, last_visit DESC, npi) = 1
"""


def parquet_source(data: Path, table: str) -> str:
    """The Parquet file of a table, or a glob over its part files."""
    path = data / f"{table}.parquet"
    return str(path / "**" / "*.parquet") if path.is_dir() else str(path)


def as_of_date() -> dt.date:
    """End of the program's last ACO budget period."""
    from dsrip_lib.program import load_program

    return load_program().calendar.budget_periods("aco")[-1].end


def peak_rss_gib() -> float:
    """This process's own peak resident set (VmHWM), in GiB.

    Not ``ru_maxrss`` from ``wait4``: Linux carries the parent's high-water mark into a
    child through fork and exec, so a parent that generated the state would inflate it.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20  # kB
    raise RuntimeError("no VmHWM in /proc/self/status")


def worker(kind: str, data: Path, out: Path) -> None:
    """Run one implementation, time it, write its result to ``out`` and the time to stdout.

    The time runs from opening the connection to the Arrow result, so it includes
    each side's set-up (Ibis reads the Parquet schemas when it registers files).
    """
    import duckdb
    import ibis

    as_of = as_of_date()
    if kind == "ibis":
        from dsrip_lib.attribution.plurality import plurality_attribution

        start = time.perf_counter()
        con = ibis.duckdb.connect()
        t = {name: con.read_parquet(parquet_source(data, name), table_name=name) for name in TABLES}
        result = plurality_attribution(t["claims"], t["providers"], as_of, LOOKBACK_MONTHS).to_pyarrow()
    else:
        start = time.perf_counter()
        con = duckdb.connect()
        for name in TABLES:
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{parquet_source(data, name)}')")
        result = con.sql(SQL.format(as_of=as_of.isoformat(), months=LOOKBACK_MONTHS)).to_arrow_table()
    seconds = time.perf_counter() - start
    import pyarrow.parquet as pq

    pq.write_table(result, out)
    print(json.dumps({"seconds": seconds, "rows": result.num_rows, "peak_gib": peak_rss_gib()}))


def run_worker(kind: str, data: Path, out: Path) -> dict:
    """Run a worker subprocess; return its timing and its own peak RSS (GiB)."""
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", kind, "--data", str(data), "--out", str(out)],
        stdout=subprocess.PIPE,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{kind} worker failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ensure_data(data: Path) -> None:
    if (data / "claims.parquet").exists():
        return
    from dsrip_lib.synth import generate

    print(f"generating the state profile into {data} (slow, once)...", flush=True)
    start = time.perf_counter()
    generate(profile="state", seed=2017, out=data)
    print(f"generated in {time.perf_counter() - start:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the fastest counts")
    parser.add_argument("--worker", choices=["ibis", "sql"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.data, args.out)
        return

    import pyarrow.parquet as pq

    ensure_data(args.data)
    best: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            # alternate the order so neither side always runs on a warmer cache
            for kind in ("sql", "ibis") if i % 2 == 0 else ("ibis", "sql"):
                r = run_worker(kind, args.data, Path(tmp) / f"{kind}.parquet")
                prev = best.get(kind)
                best[kind] = {
                    "seconds": min(r["seconds"], prev["seconds"]) if prev else r["seconds"],
                    "peak_gib": max(r["peak_gib"], prev["peak_gib"]) if prev else r["peak_gib"],
                    "rows": r["rows"],
                }
        keys = ["member_id", "npi", "aco_id", "visits", "last_visit"]
        a, b = (pq.read_table(Path(tmp) / f"{k}.parquet").to_pandas() for k in ("ibis", "sql"))
        a, b = (x[keys].sort_values("member_id", ignore_index=True) for x in (a, b))
        identical = a.astype(str).equals(b.astype(str))

    ratio = best["ibis"]["seconds"] / best["sql"]["seconds"]
    print(f"claims-plurality attribution, {LOOKBACK_MONTHS}-month look-back to {as_of_date()}, {args.data}")
    for kind in ("ibis", "sql"):
        r = best[kind]
        print(f"  {kind:4s}: {r['seconds']:7.2f} s (best of {args.repeat})  peak RSS {r['peak_gib']:.2f} GiB"
              f"  members attributed {r['rows']:,}")
    print(f"  ratio ibis/sql: {ratio:.2f} (target <= 1.5)  identical results: {identical}")
    ok = identical and ratio <= 1.5 and max(r["peak_gib"] for r in best.values()) < 4
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
