"""`cin config show`: every setting, its value (secrets masked) and where it came from.

Settings are read (models/settings.py) from CIN_* environment variables, then from a `.env` file
in the current working directory, then the defaults: a `.env` left in a folder quietly changes
CIN_DATA_DIR or CIN_SMTP_URL for every `cin` run from there, so this command says which applied.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from models.settings import Settings

ENV_FILE = Path(".env")
SECRET_QUERY = re.compile(r"^(pass|password|pwd|token|secret|sig|key|apikey)$", re.I)
MASK = "****"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = subparsers.add_parser("config", help="the settings in force and where they came from")
    commands = config.add_subparsers(dest="config_command", required=True)
    show = commands.add_parser(
        "show",
        help="each setting, its source (environment, .env, default); secrets masked",
    )
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=run_show)


def sources(environ: dict[str, str], env_file: Path = ENV_FILE) -> list[dict[str, str]]:
    """One row per setting: name, variable, masked value, source."""
    from dotenv import dotenv_values

    from_file = (
        {k.upper(): v for k, v in dotenv_values(env_file).items()} if env_file.is_file() else {}
    )
    settings = Settings()
    rows = []
    for name in Settings.model_fields:
        variable = f"CIN_{name.upper()}"
        if variable in environ:
            source = "environment"
        elif variable in from_file:
            source = f".env ({env_file.resolve()})"
        else:
            source = "default"
        value = getattr(settings, name)
        rows.append(
            {
                "setting": name,
                "variable": variable,
                "value": mask("" if value is None else str(value)),
                "source": source,
            }
        )
    from cli.prefect_env import DERIVED

    for variable in ("PREFECT_API_URL", "PREFECT_HOME", "CIN_TEAMS_URLS"):
        if variable in environ:
            shown = MASK if variable == "CIN_TEAMS_URLS" else mask(environ[variable])
            source = f"from {DERIVED[variable]}" if variable in DERIVED else "environment"
            rows.append({"setting": variable.lower(), "variable": variable, "value": shown,
                         "source": source})  # fmt: skip
    return rows


def mask(value: str) -> str:
    """A URL with its password and secret query arguments replaced by ****."""
    if "://" not in value:
        return value
    try:
        parts = urlsplit(value)
        netloc = parts.netloc
        if parts.password is not None:
            netloc = netloc.replace(f":{parts.password}@", f":{MASK}@", 1)
        query = urlencode(
            [(k, MASK if SECRET_QUERY.match(k) else v) for k, v in parse_qsl(parts.query)],
            safe="*@:/",
        )
        return urlunsplit(parts._replace(netloc=netloc, query=query))
    except ValueError:
        return MASK


def run_show(args: argparse.Namespace) -> int:
    rows = sources(dict(os.environ))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["variable"]) for r in rows)
    for row in rows:
        print(f"{row['variable']:{width}}  {row['value'] or '(unset)'}  [{row['source']}]")
    return 0
