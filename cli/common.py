"""Pieces every `cin` sub-command shares: one-line errors, argument types, the policy folder."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from models.fields import FieldRefused, parse_iso_date, shown


class CliError(Exception):
    """A user-facing failure: printed as one `cin: error: ...` line, exit status 1."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2), not a usage dump, and no
    abbreviated option (`--chil` for `--child`): an option is spelt out, so a log scrubber and a
    reader both know which value is a child's (issue 26). Sub-parsers are made of this class."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        prefix = "unrecognized arguments: "
        if message.startswith(prefix):  # argparse echoes them: option names only, never values
            words = message.removeprefix(prefix).split()
            message = prefix + " ".join(
                w.split("=", 1)[0] if w.startswith("-") else "<value>" for w in words
            )
        sys.stderr.write(f"{self.prog}: error: {' '.join(message.split())[:400]}\n")
        raise SystemExit(2)


def iso_date(text: str) -> date:
    try:
        return parse_iso_date(text)
    except FieldRefused:
        raise argparse.ArgumentTypeError(
            f"expected an ISO date YYYY-MM-DD; got {shown(text)}"
        ) from None


def os_user() -> str:
    """Who runs this command: the operating-system user (the actor of every CLI record and read)."""
    import getpass

    try:
        return getpass.getuser()[:120]
    except Exception:  # no login name (a container's bare uid): the uid says who
        return f"uid {os.getuid()}"


def audit_read(
    action: str,
    outcome: str,
    *,
    authority: str | None = None,
    case_ref: str | None = None,
    child_ref: str | None = None,
) -> None:
    """One access row for a read outside the API (issue 24): who (the OS user), what, about what.

    A bulk export names only its authority."""
    from models.access.audit import write_audit
    from models.runtime import case_engine

    write_audit(
        case_engine(),
        actor_kind="cli",
        actor=os_user(),
        action=action,
        outcome=outcome,
        authority=authority,
        case_ref=case_ref,
        child_ref=child_ref,
    )


MAX_JOBS = 64
MAX_WHOLE_NUMBER = 100_000  # more than any count, timescale or job number means; fits every type


def whole_number(text: str) -> int:
    if not text.isascii() or not text.strip().isdigit() or len(text) > 12:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {shown(text)}")
    value = int(text)
    if value > MAX_WHOLE_NUMBER:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_WHOLE_NUMBER}; got {value}")
    return value


def job_count(text: str) -> int:
    value = whole_number(text)
    if not 1 <= value <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"expected 1 to {MAX_JOBS} worker processes; got {value}")
    return value


def default_policy_dir() -> Path:
    """`CIN_POLICY_DIR`, else the repository's `policies/` folder."""
    configured = os.environ.get("CIN_POLICY_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[1] / "policies"


def add_policy_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy-dir",
        type=Path,
        default=None,
        help="folder of authority policy files (default: $CIN_POLICY_DIR or ./policies)",
    )
