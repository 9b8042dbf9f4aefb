"""The one rule for how `cin` fails (docs/operating.md, "Exit codes").

Every failure is one line on stderr, `cin: error: ...`, naming the field or resource and what was
expected, and an exit status that means one thing:

    1  refused input (a field, a file, a rule: nothing was written)
    2  usage (argparse: an unknown option, a missing argument)
    3  environment (the database, the Prefect API or the SMTP server unreachable, a full or
       read-only disk)
    4  an internal fault (a bug): the line says where the log is

For 3 and 4 the full traceback goes to `<data folder>/logs/cin-errors.log` for the administrator,
scrubbed: no SQL parameters (engines hide them), no database `DETAIL:` lines (they quote rows),
no value registered as a child's detail (`sensitive`, `child_values`), no value from the command
line in the header (`scrub_argv`), every line cut short.
"""

from __future__ import annotations

import errno
import os
import re
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

REFUSED, USAGE, ENVIRONMENT, FAULT = 1, 2, 3, 4
LOG_NAME = "cin-errors.log"
MAX_LINE = 300  # characters of one error line on stderr
MAX_LOG_LINE = 500
# the destinations of options and arguments that carry a child's details: their values (and
# the forms a traceback may print them in) never reach a log or a message
CHILD_DETAILS = ("child", "dob", "expected_dob", "upn", "former_upn", "died")

_sensitive: list[str] = []


@contextmanager
def sensitive(*values: object) -> Iterator[None]:
    """While inside, these values (a child's reference) are scrubbed from every log and message."""
    added = [v for v in values if isinstance(v, str) and v]
    _sensitive.extend(added)
    try:
        yield
    finally:
        for value in added:
            _sensitive.remove(value)


_DETAIL = re.compile(r"^(\s*DETAIL:).*$", re.M)
_PARAMETERS = re.compile(r"\[parameters: .*?\]\n?", re.S)
_INPUT_VALUE = re.compile(r"input_value=.*?(, input_type=|\]$)", re.M)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def scrub(text: str) -> str:
    """`text` without a child's detail, row values, control codes; lines cut to MAX_LOG_LINE."""
    for value in sorted(_sensitive, key=len, reverse=True):
        text = text.replace(value, "<child>")
    text = _DETAIL.sub(r"\1 <row values hidden>", text)
    text = _PARAMETERS.sub("[parameters hidden]\n", text)
    text = _INPUT_VALUE.sub(r"input_value=<hidden>\1", text)
    text = _CONTROL.sub("?", text)
    return "\n".join(
        line if len(line) <= MAX_LOG_LINE else line[:MAX_LOG_LINE] + "..."
        for line in text.split("\n")
    )


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """A message as one safe line: scrubbed, newlines folded, cut to `limit`."""
    lines = [line.strip() for line in scrub(str(text)).splitlines() if line.strip()]
    if not lines:
        return "failed"
    more = len(lines) - 1
    line = lines[0] + (f" (and {more} more problem{'s' * (more != 1)})" if more else "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def child_values(args: object) -> list[str]:
    """Every form in which a child's detail given on the command line may be printed: as typed,
    trimmed, upper-cased (as a UPN is stored), and a date as ISO text and as Python shows it."""
    forms: list[str] = []
    for name in CHILD_DETAILS:
        value = getattr(args, name, None)
        if isinstance(value, str) and value.strip():
            forms += [value, value.strip(), value.strip().upper()]
        elif isinstance(value, date):
            forms += [value.isoformat(), repr(value), f"{value.year}, {value.month}, {value.day}"]
    return sorted({form for form in forms if form}, key=len, reverse=True)


def scrub_argv(argv: Sequence[str], words: int = 0) -> list[str]:
    """The command line for the log's header: the command's words and option names only.

    Every value is `<value>` whatever the option and however it is spelt (`--dob=...`, a
    positional CHILD_REF, a value that looks like an option), so no child's detail is recorded.
    """
    shown = list(argv[:words])  # the command's words (`case refer`), counted by the caller
    for arg in argv[words:]:
        if arg.startswith("--") and len(arg) > 2:
            name = arg.split("=", 1)[0]
            shown.append(f"{name}=<value>" if "=" in arg else name)
        elif arg == "--":
            shown.append(arg)
        else:
            shown.append("<value>")
    return [_CONTROL.sub("?", word)[:60] for word in shown]


def log_path() -> Path:
    from models.settings import REPO_ROOT, get_settings

    try:
        data_dir = get_settings().data_dir
    except Exception:  # the settings themselves are broken: the variable, else the default
        data_dir = Path(os.environ.get("CIN_DATA_DIR") or REPO_ROOT / "data")
    return data_dir / "logs" / LOG_NAME


def private_folder(folder: Path) -> None:
    """Make `folder` (and missing parents) readable by its owner only, whatever the umask, and
    tighten it if it exists with group or other access and is ours: it holds children's records
    or the traceback of a failure about one."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.stat()
    if info.st_uid == os.geteuid() and info.st_mode & 0o077:
        folder.chmod(0o700)  # mkdir's mode is cut by the umask only; chmod is not


def write_log(
    error: BaseException, argv: Sequence[str], *, context: str = "", words: int = 0
) -> str:
    """Append the scrubbed traceback; the log's path, or why there is none (for the message)."""
    path = log_path()
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    body = "".join(traceback.format_exception(error))
    entry = (
        f"--- {stamp} pid {os.getpid()} cin {' '.join(scrub_argv(argv, words))}\n"
        + (f"{context}\n" if context else "")
        + scrub(body)
        + "\n"
    )
    try:
        private_folder(path.parent)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
            handle.write(entry)
    except OSError as failure:
        return f"no log written: {path.parent} {failure.strerror or 'unwritable'}"
    return f"details in {path}"


def classify(error: BaseException) -> tuple[int, str]:
    """The exit status and the one-line message for `error`."""
    environment = _environment_message(error)
    if environment is not None:
        return ENVIRONMENT, environment
    from sqlalchemy.exc import DataError, IntegrityError

    if isinstance(error, IntegrityError | DataError):
        kind = "a duplicate" if isinstance(error, IntegrityError) else "a value it cannot hold"
        return REFUSED, f"the case database refused {kind}; nothing was written"
    if isinstance(error, UnicodeDecodeError):
        return REFUSED, f"expected UTF-8 text; byte {error.start} is not ({error.reason})"
    if isinstance(error, OSError) and error.errno in (errno.ENOENT, errno.EISDIR, errno.ENOTDIR):
        where = error.filename if error.filename is not None else "file"
        return REFUSED, f"{where}: {error.strerror or 'cannot be read'}"
    if isinstance(error, KeyError) and error.args:
        return REFUSED, one_line(str(error.args[0]))
    from cli.common import CliError

    if isinstance(error, ValueError | CliError):  # every domain refusal is a ValueError
        return REFUSED, one_line(str(error))
    return FAULT, f"internal error ({type(error).__name__})"


def _environment_message(error: BaseException) -> str | None:
    from sqlalchemy.exc import InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(error, OperationalError | InterfaceError | PoolTimeout):
        return _database_problem(str(getattr(error, "orig", error)))
    from pydantic import ValidationError

    if isinstance(error, ValidationError) and error.title == "Settings":
        first = error.errors()[0]
        variable = "CIN_" + str(first["loc"][0]).upper() if first["loc"] else "a CIN_ setting"
        return f"setting {variable}: {first['msg']} (see `cin config show`)"
    name = type(error).__module__.split(".")[0]
    if name in ("httpx", "httpcore") or type(error).__name__ == "PrefectHTTPStatusError":
        url = os.environ.get("PREFECT_API_URL", "(PREFECT_API_URL unset)")
        return f"the Prefect API at {url} cannot be reached ({type(error).__name__})"
    if type(error).__name__ == "DeliveryFailed":
        return f"alert delivery failed: {one_line(str(error))}"
    if isinstance(error, OSError) and error.errno not in (
        errno.ENOENT,
        errno.EISDIR,
        errno.ENOTDIR,
    ):
        where = f"{error.filename}: " if error.filename is not None else ""
        if error.errno == errno.ENOSPC:
            return f"{where}the disk is full"
        if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return f"{where}not writable ({error.strerror})"
        if isinstance(error, ConnectionError | TimeoutError):
            return f"a server cannot be reached ({error.strerror or type(error).__name__})"
        return f"{where}{error.strerror or type(error).__name__}"
    return None


_DATABASE_CAUSES = (
    (r"disk is full|no space left", "its disk is full"),
    (r"disk i/o error", "a write to its disk failed (full, or failing)"),
    (r"readonly database|read-only|read only", "it is read-only"),
    (r"database is locked", "it is locked by another process"),
    (r"unable to open database file", "its file cannot be opened"),
    (r"does not exist", "the database does not exist"),
    (r"password authentication failed|authentication", "the login was refused"),
    (r"connection refused|could not connect|connection failed", "connection refused"),
    (r"timeout|timed out", "timed out"),
)


def _database_problem(detail: str) -> str:
    from sqlalchemy import make_url

    from models.settings import get_settings

    try:
        url = make_url(get_settings().resolved_database_url())
    except Exception:
        return "the case database cannot be used"
    where = (
        url.database
        if url.drivername.startswith("sqlite")
        else f"{url.host}:{url.port or 5432}/{url.database}"
    )
    for pattern, words in _DATABASE_CAUSES:
        if re.search(pattern, detail, re.I):
            return f"the case database ({where}) cannot be used: {words}"
    return f"the case database ({where}) cannot be used"
