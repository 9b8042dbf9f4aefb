"""`cin`: the command line for administrators and recording systems."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import Any

from cli.common import Parser
from cli.errors import ENVIRONMENT, FAULT, child_values, classify, one_line, sensitive, write_log

# Each command: the module that registers it (`register(subparsers)`, setting `func` on its
# parsers) and its line in `cin --help`. Only the module of the command asked for is imported:
# `cin --help` and every command start without the others' imports (SQLAlchemy, numpy, pydantic
# models; Prefect only inside the functions that talk to it). tests/cli/test_startup.py checks
# that this table says what the modules register.
COMMANDS: dict[str, tuple[str, str]] = {
    "calendar": ("calendar_cmd", "working-day arithmetic"),
    "policy": ("policy_cmd", "authority timescale policies"),
    "case": ("case_cmd", "open, record and inspect cases"),
    "deadlines": ("case_cmd", "open deadlines across cases"),
    "import": (
        "import_cmd",
        "record a bulk file of events (JSON lines); re-importing adds nothing",
    ),
    "init": ("serve_cmd", "create or upgrade the case database, load policies"),
    "worker": (
        "serve_cmd",
        "a Prefect worker (pool cin-cases): deliver accepted events and execute this case "
        "database's runs in threads of this process; start as many as you like",
    ),
    "serve": (
        "serve_cmd",
        "run the engine for real use: a worker, and the reconciler (every minute) and the "
        "deadline monitor (every 15 minutes) on their schedules",
    ),
    "staff": ("staff_cmd", "staff rosters: who holds cases, who manages whom"),
    "monitor": ("monitor_cmd", "the deadline monitor: run a pass, see alerts"),
    "child": ("child_cmd", "a child's details for the census return; export a child's record"),
    "hold": ("hold_cmd", "legal holds: a held child's record is never destroyed"),
    "retention": ("retention_cmd", "the retention schedule: what is due for destruction, apply it"),
    "census": ("census_cmd", "the DfE children in need census return"),
    "annex-a": ("annex_a_cmd", "Ofsted's Annex A lists for an inspection"),
    "contact": ("contact_cmd", "contacts at the front door (not cases)"),
    "config": ("config_cmd", "the settings in force and where they came from"),
    "report": ("report_cmd", "measures for a council (or every council) over a period"),
    "api": (
        "api_cmd",
        "run the HTTP API for recording systems (docs/http-api.md); manage its keys",
    ),
    "audit": (
        "api_cmd",
        "who read or wrote a case or a child's record (API, CLI, exports), when",
    ),
    "prefect": (
        "prefect_cmd",
        "housekeeping on the Prefect server: closed cases' runs, old timelines",
    ),
}


def build_parser(command: str | None = None) -> Parser:
    """The whole parser, or (given `command`) one whose other commands are stubs for `--help`."""
    parser = Parser(
        prog="cin",
        description="Children in need case engine: deadlines under each council's policy.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    wanted = COMMANDS[command][0] if command in COMMANDS else None
    registered: set[str] = set()
    for name, (module, help_line) in COMMANDS.items():
        if module in registered:
            continue
        if command is None or module == wanted:
            import_module(f"cli.{module}").register(subparsers)
            registered.add(module)
        else:
            subparsers.add_parser(name, help=help_line, add_help=False)
    return parser


def command_of(arguments: Sequence[str]) -> str | None:
    """The command word: the first argument that is not an option (`cin` has only -h)."""
    return next((a for a in arguments if not a.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure is one line and an exit status (`cli.errors`)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    # only the asked-for command's module is imported; usage errors: one line, exit 2
    args = build_parser(command_of(arguments) or "").parse_args(arguments)
    # the child's details stay registered while the error is reported and logged, not only while
    # the command runs: a trigger's message quoting the value is scrubbed from the log too
    with sensitive(*child_values(args)):
        return _run(args, arguments)


def _run(args: Any, arguments: list[str]) -> int:
    try:
        from cli.prefect_env import use_project_prefect  # the settings: pydantic

        use_project_prefect()  # before any command imports Prefect
        status: int = args.func(args)
        sys.stdout.flush()  # here, so a reader that left early is caught below
    except BrokenPipeError:  # `cin ... | head` is fine: stop writing, quietly
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("cin: interrupted\n")
        return 130
    except Exception as error:
        return report(error, arguments)
    return status


def command_words(argv: Sequence[str]) -> int:
    """How many leading arguments are sub-command names (`case refer`, `census export`): the
    error log's header shows them and hides every other value (cli/errors.py `scrub_argv`)."""
    parser: argparse.ArgumentParser = build_parser()
    count = 0
    for arg in argv:
        sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None or arg not in sub.choices:
            break
        parser = sub.choices[arg]
        count += 1
    return count


def report(error: Exception, arguments: list[str]) -> int:
    """One line on stderr for `error`, the scrubbed traceback logged for 3 and 4; the status."""
    try:
        code, message = classify(error)
        if code in (ENVIRONMENT, FAULT):
            words = command_words(arguments)
            message = f"{message}; {write_log(error, arguments, words=words)}"
        line = one_line(message, 600)
    except Exception:  # the reporting itself failed: still one line, never a traceback
        code, line = FAULT, f"internal error ({type(error).__name__})"
    sys.stderr.write(f"cin: error: {line}\n")
    return code


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so Python's own flush at exit does not print "Broken pipe"."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    raise SystemExit(main())
