"""`cin`: the command line for administrators and recording systems."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cli import (
    calendar_cmd,
    case_cmd,
    census_cmd,
    child_cmd,
    import_cmd,
    monitor_cmd,
    policy_cmd,
    serve_cmd,
    staff_cmd,
)
from cli.common import CliError, Parser
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
    args = build_parser().parse_args(argv)
    use_project_prefect()  # before any command imports Prefect
    try:
        status: int = args.func(args)
    except (CliError, ValueError, OSError, KeyError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        sys.stderr.write(f"cin: error: {message}\n")
        return 1
    except BrokenPipeError:  # `cin ... | head` is fine
        return 0
    return status


if __name__ == "__main__":
    raise SystemExit(main())
