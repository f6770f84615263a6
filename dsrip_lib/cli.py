"""`dsrip` command line: a thin shell over the library (same argument names as the API)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dsrip_lib.credentials import mask
from dsrip_lib.errors import DsripError, ParameterError
from dsrip_lib.progress import Display


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dsrip", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    synth = sub.add_parser("synth", help="generate a synthetic Medicaid state")
    synth.add_argument("--profile", default="small",
                       help="a profile of params/synth/synth.yaml: tiny, small (default), state or large")
    synth.add_argument("--seed", type=int, default=2017)
    synth.add_argument("--out", type=Path, required=True)

    validate = sub.add_parser("validate", help="check a data directory against the data contract")
    source = validate.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="the data directory")
    source.add_argument("--params", type=Path,
                        help="a run parameter file: check its data_dir as its runs would, and keep a pass for them")
    validate.add_argument("--program", default=None,
                          help="with --data: program definition whose calendar and exhibits bound the checks "
                               "(default masshealth_dsrip)")
    validate.add_argument("-p", dest="overrides", action="append", type=_key_value, default=[],
                          metavar="KEY=VALUE", help="with --params: override one run parameter")

    new = sub.add_parser("new", help="start an ad hoc notebook: notebooks/adhoc/NAME.ipynb (docs/adhoc.md)")
    new.add_argument("name", help="a letter, then letters, digits or '_' (the notebook's and its run's file name)")
    new.add_argument("--dir", type=Path, default=None, help="where to write it (default notebooks/adhoc/)")

    commands = [("run", "execute one report notebook"), ("report", "execute every report"),
                ("sweep", "execute the reports over a grid of run parameters and compare their headline numbers")]
    for name, help_text in commands:
        p = sub.add_parser(name, help=help_text)
        if name == "run":
            p.add_argument("notebook", help="report name (e.g. attribution) or path to a notebook")
        p.add_argument("--params", type=Path, required=True, help="run parameter file (YAML)")
        p.add_argument("-p", dest="overrides", action="append", type=_key_value, default=[],
                       metavar="KEY=VALUE", help="override one run parameter")
        if name == "sweep":
            p.add_argument("--vary", action="append", type=_key_value, required=True, metavar="KEY=V1,V2,...",
                           help="a run parameter (dotted, as -p) and its values; repeat for a grid")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with Display() as progress:  # bars on a terminal, one line per step on stderr otherwise
            _command(args, progress)
    except DsripError as exc:
        print(f"dsrip {args.command}: {mask(exc)}", file=sys.stderr)
        return 2
    return 0


def _command(args: argparse.Namespace, progress: Display) -> None:
    if args.command == "synth":
        from dsrip_lib.synth import generate

        out = generate(profile=args.profile, seed=args.seed, out=args.out, progress=progress)
        print(f"synthetic data written to {out}")
    elif args.command == "validate":
        _validate(args, progress)
    elif args.command == "new":
        from dsrip_lib.run.scaffold import new_notebook

        path = new_notebook(args.name, args.dir).resolve()
        if path.is_relative_to(Path.cwd()):
            path = path.relative_to(Path.cwd())
        print(f"ad hoc notebook written to {path}\n"
              f"open it in JupyterLab (make lab); publish it with: "
              f"dsrip run {path} --params params/runs/default.yaml -p run_id={args.name}")
    elif args.command == "run":
        from dsrip_lib.run.runner import run_notebook

        path = run_notebook(args.notebook, args.params, dict(args.overrides), progress=progress)
        print(f"report written to {path}\nindex: {path.with_name('index.html')}")
    elif args.command == "report":
        from dsrip_lib.run.runner import run_all

        paths = run_all(args.params, dict(args.overrides), progress=progress)
        for path in paths:
            print(f"report written to {path}")
        print(f"index: {paths[0].with_name('index.html')}")
    elif args.command == "sweep":
        from dsrip_lib.run.sweep import run_sweep

        path = run_sweep(args.params, args.vary, dict(args.overrides), progress=progress)
        print(f"sweep written to {path.parent}\ncomparison: {path}")


def _validate(args: argparse.Namespace, progress: Display) -> None:
    if args.params is None:
        if args.overrides:
            raise ParameterError("dsrip validate: -p overrides a run parameter file's entries: give --params")
        from dsrip_lib.inputs.validation import validate_dir
        from dsrip_lib.program import DEFAULT_PROGRAM

        print(validate_dir(args.data, program=args.program or DEFAULT_PROGRAM, progress=progress))
        return
    if args.program is not None:
        raise ParameterError("dsrip validate: with --params the run parameter file names the program "
                             "(-p program=NAME overrides it)")
    from dsrip_lib.run.runner import validate_run_data

    print(validate_run_data(args.params, dict(args.overrides), progress=progress))


if __name__ == "__main__":
    sys.exit(main())
