"""`cin`: the command line for administrators and recording systems."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from cli import (
    calendar_cmd,
    case_cmd,
    census_cmd,
    child_cmd,
    config_cmd,
    import_cmd,
    monitor_cmd,
    policy_cmd,
    report_cmd,
    serve_cmd,
    staff_cmd,
)
from cli.common import Parser
from cli.errors import ENVIRONMENT, FAULT, child_values, classify, one_line, sensitive, write_log
from cli.prefect_env import use_project_prefect

# Each sub-command module exposes `register(subparsers)`, setting `func` on its parsers.
COMMANDS = (
    calendar_cmd,
    policy_cmd,
    case_cmd,
    import_cmd,
    serve_cmd,
    staff_cmd,
    monitor_cmd,
    child_cmd,
    census_cmd,
    config_cmd,
    report_cmd,
)


def build_parser() -> Parser:
    parser = Parser(
        prog="cin",
        description="Children in need case engine: deadlines under each council's policy.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in COMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure is one line and an exit status (`cli.errors`)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(arguments)  # usage errors: one line, exit 2
    # the child's details stay registered while the error is reported and logged, not only while
    # the command runs: a trigger's message quoting the value is scrubbed from the log too
    with sensitive(*child_values(args)):
        return _run(args, arguments)


def _run(args: Any, arguments: list[str]) -> int:
    try:
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
