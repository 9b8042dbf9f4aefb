"""Pieces every `cin` sub-command shares: one-line errors, argument types, the policy folder."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import NoReturn


class CliError(Exception):
    """A user-facing failure: printed as one `cin: error: ...` line, exit status 1."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2), not a usage dump."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO date YYYY-MM-DD; got {text!r}") from None


def whole_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more; got {value}")
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
