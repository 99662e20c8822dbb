"""The `txplay` command: starts the app, or runs a scenario headless (`txplay run`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from playground import __version__

# The headless runner's step-time limit where neither --step-timeout nor the scenario sets one
# (the runner's own default: playground.scenario.runner imports the engine, too slow for --help).
DEFAULT_STEP_TIMEOUT = 60.0

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
T = TypeVar("T")
CONNECT_TIMEOUT = 10.0  # seconds the start-up check waits for a server to answer
READY_TIMEOUT = 120.0  # seconds TXPLAY_EXIT_WHEN_READY waits for the first drawing


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for `txplay` and `txplay run`."""
    parser = argparse.ArgumentParser(
        prog="txplay",
        description="A terminal playground for database transactions as SQLAlchemy 2.x sees them.",
        epilog="Run a scenario headless: txplay run NAME|FILE.txp  (txplay run --list shows the built-ins). "
               "Exit code 2: the arguments are invalid or the database cannot be opened (the reason is on stderr).",
    )
    parser.add_argument("--version", action="version", version=f"txplay {__version__}")
    parser.add_argument("--url", help="database URL (default: a fresh SQLite file in a temporary folder)")
    parser.add_argument("--sessions", type=int, default=2, metavar="N", help="how many sessions to open (1-6, default 2)")
    parser.add_argument("--demo", action=argparse.BooleanOptionalAction, default=None,
                        help="create the demo schema and rows (default: on for the temporary SQLite database; "
                             "on a server they go into a schema/database of their own, txplay_demo; "
                             "without it, --url works on the database's own tables)")
    parser.add_argument("--reset-demo", action="store_true", help="drop and recreate the demo tables")
    parser.add_argument("--models", metavar="FILE", help="a Python file with your own declarative models")
    parser.add_argument("--scenario", metavar="NAME|FILE", help="open a scenario in demo mode")
    parser.add_argument("--record", metavar="FILE.txp", help="record the session and save it as a scenario on quit")
    sub = parser.add_subparsers(dest="command", metavar="run|convert|matrix|export|web")
    run = sub.add_parser("run", help="run a scenario headless and print its transcript",
                         description="Run a .txp scenario headless; exit 0 when every expectation held, 1 when one failed, 2 when the file or arguments are invalid.")
    run.add_argument("scenario", nargs="?", metavar="NAME|FILE",
                     help="a built-in scenario name, a .txp file, a PostgreSQL isolation .spec or a MariaDB mysqltest .test file")
    run.add_argument("--url", dest="run_url", help="database URL (default: a fresh temporary SQLite file)")
    run.add_argument("--format", choices=("text", "json", "markdown", "isolation", "mysqltest"), default="text",
                     help="transcript format (default: text); isolation: what PostgreSQL's isolationtester prints "
                          "(.spec files), mysqltest: what mysqltest records in a .result file (.test files)")
    run.add_argument("--expected", metavar="FILE",
                     help="compare the run's output (as --format isolation/mysqltest prints it) with FILE: "
                          "exit 0 when identical, 1 with a unified diff on stderr when not (.spec and .test files)")
    run.add_argument("--list", action="store_true", help="list the built-in scenarios")
    run.add_argument("--pace", type=_seconds, default=0.0, metavar="SECONDS",
                     help="wait SECONDS before each step after the first, as a presenter would (default: 0)")
    run.add_argument("--step-timeout", type=_limit, default=None, metavar="SECONDS",
                     help="interrupt and fail a step running longer than this (default: the scenario's "
                          f"step-timeout: header, else {DEFAULT_STEP_TIMEOUT:g})")
    convert = sub.add_parser("convert", help="write a PostgreSQL isolation spec or a mysqltest file as .txp scenarios",
                             description="Write FILE.spec as .txp scenarios (FILE-1.txp, FILE-2.txp, … one a permutation) with "
                                         "expectations from the expected output (--expected, or expected/FILE.out beside specs/) "
                                         "or from a run (--url); or FILE.test as FILE.txp, from a run on --url. "
                                         "Exit 2 when the file cannot be converted.")
    convert.add_argument("source", metavar="FILE.spec|FILE.test", help="a PostgreSQL isolationtester spec or a mysqltest file")
    convert.add_argument("--url", dest="convert_url", help="run the file on this database for the expectations")
    convert.add_argument("--expected", metavar="FILE.out", help="take the expectations from this isolationtester output")
    convert.add_argument("--out", metavar="DIR", default=".", help="the folder to write the scenarios to (default: the current one)")
    matrix = sub.add_parser("matrix", help="which anomalies each database prevents at each isolation level, measured",
                            description="Run the anomaly suite (tests after Hermitage's designs) at every isolation level "
                                        "each database offers and print the table, the settings it was measured under "
                                        "and a legend. Cells run several at once, each in a schema/database (or "
                                        "temporary SQLite file) of its own. Exit 0 when every cell ran, 1 when one "
                                        "could not (the reason is printed; a database that cannot be opened is a column "
                                        "saying why), 2 on bad arguments or a database txplay has no strategy for, 130 "
                                        "on Ctrl+C (the cells done are printed, and what the run created is dropped).")
    matrix.add_argument("--url", dest="matrix_urls", action="append", metavar="URL",
                        help="a database (repeatable: a column group each; default: a temporary SQLite file, "
                             "in both journal modes)")
    matrix.add_argument("--format", dest="matrix_format", choices=("text", "markdown", "json"), default="text",
                        help="text or markdown table, or JSON lines (a cell a line, then a summary)")
    matrix.add_argument("--test", dest="matrix_tests", action="append", metavar="NAME",
                        help="run only this test, e.g. P4 or G-single (repeatable; default: the whole suite)")
    export = sub.add_parser("export", help="write a scenario as a Python test module (pytest, playground.testing)",
                            description="Write a .txp scenario as a self-contained pytest module that runs it with "
                                        "playground.testing (the scenario's text is in the module). Exit 2 when the "
                                        "scenario cannot be read.")
    export.add_argument("source", metavar="NAME|FILE", help="a built-in scenario name or a .txp file")
    export.add_argument("-o", "--output", metavar="OUT.py", help="the file to write (default: standard output)")
    from playground.web.options import add_web_parser

    add_web_parser(sub)
    run.add_argument("--sql-only", action="store_true", help="refuse scenarios with Python steps (for files from someone else)")
    run.add_argument("--isolation", metavar="LEVEL",
                     help="run every session at LEVEL, over the scenario's isolation: header (a cell of "
                          "`txplay matrix`: txplay run matrix_p4 --isolation 'REPEATABLE READ' --url …)")
    return parser


def _seconds(text: str) -> float:
    """A number of seconds from 0 to 3600, for --pace."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= seconds <= 3600:  # also refuses nan and inf
        raise argparse.ArgumentTypeError("must be between 0 and 3600 seconds")
    return seconds


def _limit(text: str) -> float:
    """A number of seconds above 0, at most an hour, for --step-timeout."""
    seconds = _seconds(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `txplay` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        return _run(args, parser)
    if args.command == "matrix":
        return _matrix(args)
    if args.command == "export":
        return _export(args)
    if args.command == "web":
        return _web(args)
    if args.command == "convert":
        from playground.suites.cli import convert

        return convert(args)
    if args.scenario and args.scenario.endswith((".spec", ".test")):  # a PostgreSQL spec or a mysqltest file, live
        from playground.ui.suite_app import run_spec_app

        return run_spec_app(args.scenario, args.url)
    if not 1 <= args.sessions <= 6:
        parser.error("--sessions must be between 1 and 6")
    from playground.ui.app import make_app  # imported late: `txplay run` never loads Textual
    from playground.ui.opening import scenario_url

    try:
        app = make_app(
            url=args.url, sessions=args.sessions,
            demo=args.demo if args.demo is not None else (args.url is None or args.reset_demo), reset_demo=args.reset_demo,
            models=args.models, scenario=args.scenario, record=args.record,
        )
    except Exception as exc:
        print(f"txplay: {exc}", file=sys.stderr)
        return EXIT_INVALID
    # The default temporary SQLite file always opens; a URL is tried before any screen is drawn,
    # unless a scenario keeps off it (a SQLite file: trying it would create it).
    url = scenario_url(args.url) if args.scenario else args.url
    problem = database_problem(url) if url is not None else None
    if problem:
        print(f"txplay: {problem}", file=sys.stderr)
        return EXIT_INVALID
    import os

    probe = _exit_when_ready if os.environ.get("TXPLAY_EXIT_WHEN_READY") else None
    app.run(headless=bool(os.environ.get("TXPLAY_HEADLESS")), auto_pilot=probe)
    if app.failure:
        print(app.failure, file=sys.stderr)
    if app.recording.quit_message:
        print(app.recording.quit_message, file=sys.stderr)
    code = app.return_code or 0
    _exit_without_waiting_for_drivers(code)
    return code


async def _exit_when_ready(pilot) -> None:
    """For start-up benchmarks (TXPLAY_EXIT_WHEN_READY): leave once the first step can run.

    Two moments (epoch seconds) go to $TXPLAY_READY_FILE, a line each as they come: `drawn T` when
    the panes were first painted (the database may still be opening), `runnable T` when the
    workspace was open and shown. Process exit, which the user does not wait for at start, is left
    out of both.
    """
    import os
    import time
    from pathlib import Path

    app = pilot.app
    ready = os.environ.get("TXPLAY_READY_FILE")

    def note(moment: str) -> None:
        if ready:
            with Path(ready).open("a", encoding="utf-8") as out:
                out.write(f"{moment} {time.time()!r}\n")

    async with asyncio.timeout(READY_TIMEOUT):  # Textual awaits this probe before it shuts down: never hang
        await app.waits.drawn.wait()
        note("drawn")
        await app.waits.opened.wait()
        if app.failure is not None:
            return  # the app leaves by itself, with exit code 2
        drawn = asyncio.get_running_loop().create_future()
        app.call_after_refresh(drawn.set_result, None)
        await drawn
    note("runnable")
    app.exit()


def database_problem(url: str, timeout: float = CONNECT_TIMEOUT) -> str | None:
    """Why the database at `url` cannot be opened, in a sentence; None when one connection opens.

    The password is masked, both in the URL and wherever a driver repeated it in its message.
    """
    from playground.engine.backends import BackendError, resolve
    from playground.engine.errors import describe

    try:
        backend = resolve(url)
    except BackendError as exc:
        return str(exc)
    try:
        backend.check_reachable(timeout)
    except TimeoutError:
        reason = f"no answer within {timeout:g} s (is the host right, and is the server up?)"
    except Exception as exc:
        info = describe(exc)
        reason = str(info) + (f"\n  hint: {info.hint}" if info.hint else "")
    else:
        return None
    password = str(backend.url.password or "")
    if password:  # whole words only: a short password must not garble the message
        reason = re.sub(rf"(?<!\w){re.escape(password)}(?!\w)", "***", reason)
    return f"cannot open {backend.display_url}: {reason}"


def _exit_without_waiting_for_drivers(code: int) -> None:
    """End the process even if a driver thread still sleeps in a lock wait.

    aiosqlite runs each connection in a non-daemon thread; one stuck in SQLite's busy handler
    would hold the process open after the user quit. The database itself rolls back whatever
    was not committed, so nothing is lost by not waiting.
    """
    import os
    import threading

    stuck = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    for thread in stuck:
        thread.join(timeout=0.2)
    if any(t.is_alive() for t in stuck):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _matrix(args: argparse.Namespace) -> int:
    """`txplay matrix`: the table, or a JSON line a cell as each is measured. Ctrl+C stops the run:
    the cells done are printed, every schema/database made is dropped, and the exit code is 130."""
    import json

    from playground.engine.backends import BackendError
    from playground.matrix import SUITE
    from playground.matrix.run import refusal, summary_json
    from playground.matrix.table import cell_json, write_table

    tests = SUITE
    if args.matrix_tests:
        by_name = {t.name.lower(): t for t in SUITE}
        unknown = [name for name in args.matrix_tests if name.lower() not in by_name]
        if unknown:
            print(f"txplay: no matrix test {', '.join(map(repr, unknown))}; the tests are "
                  f"{', '.join(t.name for t in SUITE)}", file=sys.stderr)
            return EXIT_INVALID
        chosen = {name.lower() for name in args.matrix_tests}
        tests = tuple(t for t in SUITE if t.name.lower() in chosen)  # in the suite's order
    urls: list[str | None] = list(args.matrix_urls or [None])
    for url in urls:
        try:
            refused = refusal(url) if url is not None else None
        except BackendError as exc:
            refused = str(exc)
        if refused:
            print(f"txplay: {refused}", file=sys.stderr)
            return EXIT_INVALID
    if args.matrix_format == "json":
        def on_cell(column, test, cell) -> None:
            print(json.dumps(cell_json(column, test, cell), ensure_ascii=False), flush=True)
    else:
        def on_cell(column, test, cell) -> None:
            print(f"  {column.title}: {test.name} done", file=sys.stderr, flush=True)

    run = asyncio.run(_matrix_until_ctrl_c(urls, on_cell, tests))
    if args.matrix_format == "json":
        print(json.dumps(summary_json(run), ensure_ascii=False), flush=True)
    else:
        write_table(run, args.matrix_format, tests=tests)
    if run.interrupted:  # a driver thread of a cut cell may sit out its busy timeout: do not wait for it
        sys.stdout.flush()
        _exit_without_waiting_for_drivers(run.exit_code)
    return run.exit_code


def _web(args: argparse.Namespace) -> int:
    """`txplay web`: serve the app to browsers, or say why not (exit 2)."""
    from playground.web.options import WebOptionError, web_settings

    try:
        settings = web_settings(args)
    except WebOptionError as exc:
        print(f"txplay: {exc}", file=sys.stderr)
        return EXIT_INVALID
    problem = database_problem(settings.visitor.url) if settings.visitor.url else None
    if problem:
        print(f"txplay: {problem}", file=sys.stderr)
        return EXIT_INVALID
    try:
        from playground.web.server import serve
    except ImportError:
        print("txplay: txplay web needs textual-serve: pip install 'txplay[web]'", file=sys.stderr)
        return EXIT_INVALID
    return serve(settings)


def _export(args: argparse.Namespace) -> int:
    """`txplay export`: the scenario as a pytest module, on stdout or in --output."""
    from pathlib import Path

    from playground.scenario import library
    from playground.scenario.export import export_module
    from playground.scenario.parser import ScenarioError

    try:
        scenario = library.find(args.source)
        text = library.source(args.source) if args.source in library.names() else Path(args.source).read_text(encoding="utf-8")
    except ScenarioError as exc:
        print(f"txplay: {exc}", file=sys.stderr)
        return EXIT_INVALID
    out = Path(args.output) if args.output else None
    module = export_module(scenario, text, out)
    if out is None:
        sys.stdout.write(module)
        return EXIT_OK
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(module, encoding="utf-8")
    except OSError as exc:
        print(f"txplay: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK


async def _matrix_until_ctrl_c(urls, on_cell, tests):
    """run_matrix, stopped cleanly by the first Ctrl+C (every cell rolls back and drops what it
    made); a second Ctrl+C is Python's own KeyboardInterrupt, for a user who will not wait."""
    import contextlib
    import signal

    from playground.matrix.run import run_matrix

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def interrupted() -> None:
        stop.set()
        loop.remove_signal_handler(signal.SIGINT)
        print("txplay: interrupted; dropping what the run created (Ctrl+C again to quit at once)",
              file=sys.stderr, flush=True)

    default = loop.get_exception_handler()

    def quiet_once_stopped(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        """A driver's connection cut by the stop leaves futures nobody reads: not worth a traceback."""
        if stop.is_set():
            return
        if default is not None:
            default(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(quiet_once_stopped)
    with contextlib.suppress(NotImplementedError):  # no signal handlers on this platform's loop
        loop.add_signal_handler(signal.SIGINT, interrupted)
    try:
        return await run_matrix(urls, on_cell, tests, stop=stop)
    finally:
        with contextlib.suppress(NotImplementedError):
            loop.remove_signal_handler(signal.SIGINT)


class Signalled(Exception):
    """The run was stopped by a signal, after cleaning up."""

    def __init__(self, number: int) -> None:
        import signal

        super().__init__(number)
        self.name = signal.Signals(number).name
        self.exit_code = 128 + number  # as a shell reports a process ended by the signal


async def _until_signalled(work: Coroutine[Any, Any, T]) -> T:
    """Await `work`; SIGTERM, SIGHUP or SIGINT cancel it, so that its cleanup runs (sessions rolled
    back, the run's schema dropped, its temporary folder removed), then raise `Signalled`.

    Their default actions end the process at once and leave those behind: a terminal closed
    (SIGHUP), `kill` or a CI job's timeout (SIGTERM). A second signal while cleaning up gives up.
    """
    import signal

    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    received: list[int] = []

    def stop(number: int) -> None:
        received.append(number)
        task.cancel()

    numbers = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGINT") if hasattr(signal, name)]
    for number in numbers:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # no handlers on this loop
            loop.add_signal_handler(number, stop, number)
    try:
        return await task
    except asyncio.CancelledError:
        if received:
            raise Signalled(received[0]) from None
        raise
    finally:
        for number in numbers:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(number)


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import signal

    if hasattr(signal, "SIGPIPE"):  # `txplay run … | head` ends quietly, like any CLI
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if args.scenario and args.scenario.endswith((".spec", ".test")):
        from playground.suites.cli import run_suite  # before the engine's imports: it needs none of them

        return run_suite(args)
    from playground.engine.backends import BackendError
    from playground.scenario import library
    from playground.scenario.parser import ScenarioError
    from playground.scenario.runner import run_scenario
    from playground.scenario.transcript import writer

    if args.list:
        for name in library.names():
            scenario = library.load(name)
            print(f"{name:<28} {scenario.title}")
        return EXIT_OK
    if not args.scenario:
        parser.error("txplay run needs a scenario name or file (txplay run --list shows the built-ins)")
    if args.format in ("isolation", "mysqltest") or args.expected:
        what = f"--format {args.format}" if args.format in ("isolation", "mysqltest") else "--expected"
        parser.error(f"{what} is for PostgreSQL .spec and mysqltest .test files, not .txp scenarios")
    try:
        scenario = library.find(args.scenario)
    except ScenarioError as exc:
        print(f"txplay: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.isolation:
        import dataclasses

        scenario = dataclasses.replace(scenario, isolation=" ".join(args.isolation.upper().replace("_", " ").split()))
    async def streamed() -> int:
        # Each event is written as it happens and nothing else is kept; the exit code, not the
        # report, is the task's result (asyncio may format the finished task, result and all).
        report = await run_scenario(
            scenario, args.run_url, on_event=writer(args.format, sys.stdout), sql_only=args.sql_only,
            states=args.format == "json",  # only the JSON transcript prints the state after each step
            pace=args.pace, step_timeout=args.step_timeout, keep=False,
        )
        return report.exit_code

    try:
        return asyncio.run(_until_signalled(streamed()))
    except Signalled as stopped:
        print(f"txplay: stopped by {stopped.name}; its sessions were rolled back and what the run made removed",
              file=sys.stderr, flush=True)
        _exit_without_waiting_for_drivers(stopped.exit_code)  # a SQLite busy wait may still hold a driver thread
        return stopped.exit_code
    except ScenarioError as exc:
        print(f"txplay: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except BackendError as exc:
        print(f"txplay: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except Exception as exc:
        from playground.engine.errors import describe

        print(f"txplay: {describe(exc)}", file=sys.stderr)
        return EXIT_INVALID


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
