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
        elif name == "ui_url":
            source = "from the Prefect API URL"  # models/settings.py: links go to the API's server
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


def channel_gaps(environ: dict[str, str]) -> list[str]:
    """One line per authority whose policy (in force today) names a channel with nothing to
    send it to: Teams with no CIN_TEAMS_URLS entry for any of its teams, email with no
    CIN_SMTP_URL. Their alerts are held (`cin monitor status`), never dropped."""
    from models.policy.parts import Channel
    from models.runtime import clock, policies
    from notifications.transport import TEAMS_URLS_VARIABLE, _teams_table

    settings = Settings()
    raw = environ.get(TEAMS_URLS_VARIABLE, "").strip()
    try:
        table = _teams_table(raw) if raw else {}
    except ValueError as error:
        return [str(error)]
    book, today = policies(), clock().today()
    lines = []
    for slug in book.slugs():
        channels = book.authority(slug).on(today).channels
        for channel, setting in ((Channel.TEAMS, TEAMS_URLS_VARIABLE), (Channel.EMAIL, "")):
            roles = [role.value for role, ways in channels.items() if channel in ways]
            if not roles:
                continue
            if channel is Channel.EMAIL:
                if not settings.smtp_url:
                    lines.append(
                        f"{slug}: the policy tells {', '.join(roles)} by email but CIN_SMTP_URL "
                        "is unset: emails wait in the outbox, failing (`cin monitor status`)"
                    )
                continue
            teams = sorted(k.split("/", 1)[1] for k in table if k.startswith(f"{slug}/"))
            where = f"only for teams {', '.join(teams)}" if teams else "for none of its teams"
            lines.append(
                f"{slug}: the policy tells {', '.join(roles)} by Teams; {setting} has a URL "
                f"{where}: Teams alerts for a team without one are held (`cin monitor status`)"
            )
    return lines


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
    gaps = channel_gaps(dict(os.environ))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["variable"]) for r in rows)
    for row in rows:
        print(f"{row['variable']:{width}}  {row['value'] or '(unset)'}  [{row['source']}]")
    if gaps:
        print("channels the policies name with no destination set:")
        for line in gaps:
            print(f"  {line}")
    return 0
