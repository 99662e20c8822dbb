"""`txplay run FILE.spec|FILE.test`: run a database's own isolation test headless."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from playground.suites import SuiteError

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
NATIVE = {".spec": "isolation", ".test": "mysqltest"}


def run_suite(args: argparse.Namespace) -> int:
    """Run the file named in `args` and print it in `args.format`; the exit code says how it went:
    0 ran (and matched --expected), 1 failed or differed, 2 invalid (nothing was run)."""
    from playground.suites.formats import suite_writer

    path: str = args.scenario
    native = NATIVE[os.path.splitext(path)[1]]
    if args.format in NATIVE.values() and args.format != native:
        print(f"txplay: --format {args.format} is for {'.spec' if args.format == 'isolation' else '.test'} files; "
              f"{path} is a {'PostgreSQL isolation spec' if native == 'isolation' else 'mysqltest file'} "
              f"(use --format {native})", file=sys.stderr)
        return EXIT_INVALID
    if args.expected and not os.path.isfile(args.expected):
        print(f"txplay: the expected file {args.expected} does not exist", file=sys.stderr)
        return EXIT_INVALID
    out = sys.stdout if args.format == native else None
    emit = None if args.format == native else suite_writer(args.format, sys.stdout)
    try:
        if native == "isolation":
            run, counts = _run_spec(path, args, out, emit)
        else:
            run, counts = _run_mysqltest(path, args, out, emit)
    except SuiteError as exc:
        print(f"txplay: {exc}", file=sys.stderr)
        return EXIT_INVALID
    code = run.exit_code
    summary: dict[str, Any] = {"event": "summary", **counts, "exit": code}
    if args.expected:
        from playground.suites.compare import compare

        same, diff = compare(run.output, args.expected)
        summary.update(expected=args.expected, matches=same)
        if not same:
            sys.stderr.write(diff)
            print(f"txplay: the output differs from {args.expected}", file=sys.stderr)
            code = summary["exit"] = max(code, EXIT_FAILED)
    if run.error:
        summary["error"] = run.error
        print(f"txplay: {run.error}", file=sys.stderr)
    if emit is not None:
        emit(summary)
    return code


def _run_spec(path: str, args: argparse.Namespace, out: Any, emit: Any) -> tuple[Any, dict[str, Any]]:
    from playground.suites.isolation import DEFAULT_MAX_STEP_WAIT, check_backend, run_spec
    from playground.suites.spec import load

    spec = load(path)
    check_backend(spec, args.run_url)
    wait = args.step_timeout or float(os.environ.get("PGISOLATIONTIMEOUT") or DEFAULT_MAX_STEP_WAIT)
    run = run_spec(spec, args.run_url, out=out, emit=emit, max_step_wait=wait)
    return run, {"permutations": run.permutations, "steps": run.steps}


def _run_mysqltest(path: str, args: argparse.Namespace, out: Any, emit: Any) -> tuple[Any, dict[str, Any]]:
    import asyncio

    from playground.suites import mysqltest

    test = mysqltest.load(path)
    run = asyncio.run(mysqltest.run_mysqltest(test, args.run_url, out=out, emit=emit))
    return run, {"steps": run.steps}


def convert(args: argparse.Namespace) -> int:
    """`txplay convert FILE.spec`: write one .txp scenario a permutation; print their paths."""
    from playground.suites import convert as conversion
    from playground.suites.expected import expected_file_for
    from playground.suites.spec import load

    source = Path(args.source)
    try:
        if source.suffix == ".test":
            return _convert_mysqltest(source, args)
        if source.suffix != ".spec":
            raise SuiteError(str(source), 0, "txplay convert takes a PostgreSQL isolation .spec or a mysqltest .test file")
        spec = load(source)
        expected = Path(args.expected) if args.expected else expected_file_for(source)
        if args.convert_url:
            from playground.suites.isolation import check_backend, run_spec

            check_backend(spec, args.convert_url)
            events: list[dict[str, Any]] = []
            run = run_spec(spec, args.convert_url, emit=events.append)
            if run.error:
                print(f"txplay: the run of {source} failed: {run.error}", file=sys.stderr)
                return EXIT_FAILED
            outcomes = conversion.outcomes_from_events(events)
        elif expected is not None and expected.is_file():
            text = expected.read_bytes().decode("utf-8", errors="replace")
            outcomes = conversion.outcomes_from_expected(spec, text, str(expected))
        else:
            where = f" ({expected} does not exist)" if expected is not None else ""
            raise SuiteError(str(source), 0, f"no expected output to take the expectations from{where}: "
                                             "give --expected FILE.out, or --url to run the spec")
        scenarios = conversion.convert_spec(spec, outcomes, source.stem)
    except SuiteError as exc:
        print(f"txplay: {exc}", file=sys.stderr)
        return EXIT_INVALID
    return _write(scenarios, Path(args.out))


def _write(scenarios: list[tuple[str, str]], folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in scenarios:
        (folder / name).write_text(text, encoding="utf-8")
        print(folder / name)
    return EXIT_OK


def _convert_mysqltest(source: Path, args: argparse.Namespace) -> int:
    """A mysqltest file as one .txp: the statements a run on --url showed."""
    import asyncio

    from playground.suites import mysqltest
    from playground.suites.convert import convert_mysqltest

    test = mysqltest.load(source)
    if not args.convert_url:
        raise SuiteError(str(source), 0, "a mysqltest file is converted from a run: give --url mysql://…")
    events: list[dict[str, Any]] = []
    run = asyncio.run(mysqltest.run_mysqltest(test, args.convert_url, emit=events.append))
    if run.exit_code or run.skipped:
        print(f"txplay: the run of {source} {'was skipped' if run.skipped else 'failed'}: {run.skipped or run.error}",
              file=sys.stderr)
        return EXIT_FAILED
    text = source.read_bytes().decode("utf-8", errors="replace")
    from playground.suites import urls

    database = urls.parse(args.convert_url).database
    return _write([(f"{source.stem}.txp", convert_mysqltest(events, source.stem, text, database))], Path(args.out))
