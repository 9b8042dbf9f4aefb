"""Sending one message through Apprise: email over SMTP, or a Teams channel post through a Power
Automate ("Workflows") webhook. Nothing here logs an address, a URL or a body, and the reason a
delivery failed never carries one either (it is stored and shown to operators).

Email: CIN_SMTP_URL is an Apprise ``mailto://`` (plain, or STARTTLS when given ``mode=starttls``)
or ``mailtos://`` (STARTTLS by default, ``mode=ssl`` for implicit TLS) URL naming the server, the
credentials if any and the sender; `send` adds the recipient. Plain SMTP on loopback, no TLS and no
login, is ``mailto://127.0.0.1:8025?from=cin-alerts@council.example``: ``mailto://`` without
``mode=`` is Apprise's "insecure" mode (no STARTTLS) and it logs in only when the URL has both a
user and a password. A relay with STARTTLS and a login:
``mailtos://user:password@smtp.council.example:587?from=cin-alerts@council.example``.
The connection, and each reply including the server's greeting, times out after 5 s unless the
URL sets ``cto=`` (seconds). A server that refuses the connection and one that accepts it but
never greets fail alike (`ServerUnreachable`): the monitor then leaves the pass's other emails
for their backoff instead of waiting 5 s on each (notifications/sending.py, `deliver`).

Each email carries ``X-CIN-Key: <outbox key>``. Its Message-ID is Apprise's own: Apprise adds
custom headers (``+Header=value``) before it sets Message-ID, so a custom one would make two.

Teams: the recipient is the Apprise URL of the team's workflow, from CIN_TEAMS_URLS (see
`teams_url_for`). Power Automate gives a URL like
``https://HOST:443/powerautomate/automations/direct/workflows/ID/triggers/manual/paths/invoke
?api-version=...&sp=...&sv=1.0&sig=SIG``; Apprise takes it as it is, or shortened to
``workflows://HOST:443/ID/SIG/?pa=yes`` (add ``route=N`` when the path has ``/cu/N``; an older
``https://HOST/workflows/ID/...`` URL without ``/powerautomate/...`` shortens without ``pa=yes``).
Apprise always posts over HTTPS; the default timeouts are 4 s to connect and 4 s to read
(``cto=``, ``rto=``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import apprise
from apprise.plugins.email import NotifyEmail
from apprise.plugins.workflows import NotifyWorkflows

SMTP_CONNECT_TIMEOUT_SECONDS = 5
TEAMS_URLS_VARIABLE = "CIN_TEAMS_URLS"

_EMAIL = re.compile(r"^[^@\s,;:<>()\[\]\"'\\]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+$")
_HEADER_UNSAFE = re.compile(r"[^\x21-\x7e ]")
_RECIPIENT_ARGS = frozenset({"to", "cc", "bcc", "reply"})


class DeliveryFailed(Exception):
    """A message was not accepted. str() is a short reason without any address, URL or secret."""


class ServerUnreachable(DeliveryFailed):
    """The server itself could not be used (down, silent, unknown): the next message would fail
    the same way, so a pass stops trying that channel until the backoff has passed."""


# the reasons (below) that say the server, not this message, is the problem: a server that is
# down (refused) and one that accepts a connection but never greets (timed out) alike
UNREACHABLE_REASONS = frozenset(
    {
        "connection refused",
        "timed out",
        "host name not found",
        "network unreachable",
        "connection dropped by the server",
    }
)


@dataclass(frozen=True, slots=True)
class Message:
    channel: str  # "email" or "teams"
    to: str  # email: the recipient's address; teams: the Apprise URL of the team's workflow
    subject: str
    body: str  # plain text; Teams renders it as markdown
    key: str  # the outbox key, stable across attempts


def send(message: Message, *, smtp_url: str | None) -> None:
    """Deliver `message` or raise DeliveryFailed."""
    plugin: type[apprise.NotifyBase]
    if message.channel == "email":
        url, plugin, label = _email_url(message, smtp_url), NotifyEmail, "SMTP"
        title, body_format = " ".join(message.subject.split()), apprise.NotifyFormat.TEXT
    elif message.channel == "teams":
        url, plugin, label = message.to, NotifyWorkflows, "Teams"
        title, body_format = message.subject, apprise.NotifyFormat.MARKDOWN
    else:
        raise DeliveryFailed(f"unknown channel {message.channel[:20]!r}")

    with _apprise_records() as records:
        # made inside the trap: a new Apprise logs its language at debug level (in a process's
        # first send, before the trap was set, that line reached every handler)
        notifier = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False))
        if not notifier.add(url) or len(notifier) != 1:
            raise DeliveryFailed(f"{label} delivery failed: the Apprise URL is not valid")
        if not isinstance(notifier[0], plugin):
            raise DeliveryFailed(f"{label} delivery failed: the URL is not for {label}")
        delivered = notifier.notify(body=message.body, title=title, body_format=body_format)
    if not delivered:
        reason = _reason(records)
        failure = ServerUnreachable if reason in UNREACHABLE_REASONS else DeliveryFailed
        raise failure(f"{label} delivery failed: {reason}")


def teams_url_for(
    authority: str, team: str | None, environ: Mapping[str, str] = os.environ
) -> str | None:
    """The Apprise URL of `authority`'s `team` from CIN_TEAMS_URLS, a JSON object mapping
    "authority/team" to an Apprise URL; None when the variable or the entry is missing."""
    raw = environ.get(TEAMS_URLS_VARIABLE, "").strip()
    if not raw or not team:
        return None
    url = _teams_table(raw).get(f"{authority}/{team}")
    return url.strip() if url and url.strip() else None


@lru_cache(maxsize=4)
def _teams_table(raw: str) -> dict[str, str]:
    """CIN_TEAMS_URLS parsed once per value (a pass asks for thousands of teams)."""
    try:
        table = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{TEAMS_URLS_VARIABLE} is not valid JSON (expected an object like "
            f'{{"authority/team": "workflows://..."}}): {error.msg} at character {error.pos}'
        ) from None
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in table.items()
    ):
        raise ValueError(
            f"{TEAMS_URLS_VARIABLE} must be a JSON object mapping "
            '"authority/team" to an Apprise URL (a string)'
        )
    return table


def _email_url(message: Message, smtp_url: str | None) -> str:
    if not smtp_url or not smtp_url.strip():
        raise DeliveryFailed("CIN_SMTP_URL is not set")
    if not _EMAIL.match(message.to):
        raise DeliveryFailed("SMTP delivery failed: the recipient address is not valid")
    try:
        parts = urlsplit(smtp_url.strip())
    except ValueError:
        raise DeliveryFailed("CIN_SMTP_URL is not a valid URL") from None
    if parts.scheme.lower() not in ("mailto", "mailtos") or not parts.netloc:
        raise DeliveryFailed("CIN_SMTP_URL must be a mailto:// or mailtos:// URL with a host")
    # recipients come from the message alone: a recipient in the setting would get every alert
    names = {pair.split("=", 1)[0].lower() for pair in re.split("[&;]", parts.query) if pair}
    if parts.path.strip("/") or names & _RECIPIENT_ARGS:
        raise DeliveryFailed("CIN_SMTP_URL must not name recipients (path, to=, cc=, bcc=, reply=)")
    ours = [
        ("to", message.to),
        ("format", "text"),
        ("optional", "no"),
        ("+X-CIN-Key", _HEADER_UNSAFE.sub("_", message.key)[:200]),
    ]
    if "cto" not in names:
        ours.append(("cto", str(SMTP_CONNECT_TIMEOUT_SECONDS)))
    # appended after the setting's own arguments, so that ours win (Apprise keeps the last)
    query = "&".join(filter(None, [parts.query, urlencode(ours, quote_via=quote)]))
    return urlunsplit(parts._replace(query=query))


class _Trap(logging.Filter):
    """Keeps the "apprise" logger's records on a thread that is inside `send` (they name
    addresses, hosts and URLs, and at debug level the payload) out of every handler, for the
    failure reason. On other threads apprise logs as it did before."""

    def __init__(self, passthrough_level: int) -> None:
        super().__init__()
        self.passthrough_level = passthrough_level
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        held: list[logging.LogRecord] | None = getattr(self.local, "records", None)
        if held is not None:
            held.append(record)
            return False
        return record.levelno >= self.passthrough_level


_trap: _Trap | None = None
_trap_lock = threading.Lock()


@contextmanager
def _apprise_records() -> Iterator[list[logging.LogRecord]]:
    global _trap
    with _trap_lock:
        if _trap is None:
            logger = logging.getLogger(apprise.LOGGER_NAME)
            _trap = _Trap(logger.getEffectiveLevel())
            logger.addFilter(_trap)
            # debug records say why a connection failed; the trap keeps them from other handlers
            logger.setLevel(min(logging.DEBUG, _trap.passthrough_level))
    held: list[logging.LogRecord] = []
    _trap.local.records = held
    try:
        yield held
    finally:
        _trap.local.records = None


# what apprise (and smtplib, requests beneath it) said, mapped to words safe to store and show
_CAUSES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.I), words)
    for pattern, words in (
        (r"connection refused", "connection refused"),
        (r"timed out|timeout", "timed out"),
        (
            r"name or service not known|nodename nor servname|name resolution|getaddrinfo",
            "host name not found",
        ),  # fmt: skip
        (r"network is unreachable|no route to host", "network unreachable"),
        (r"certificate verify failed|certificate_verify_failed", "TLS certificate not trusted"),
        (r"starttls extension not supported", "the server does not offer STARTTLS"),
        (r"authentication|\b535\b|\b534\b", "authentication failed"),
        (r"recipientsrefused|recipient.*(refused|rejected)|\b55[0-4]\b", "recipient refused"),
        (r"sender.*(refused|rejected)|senderrefused", "sender refused"),
        (r"sslerror|\[ssl|ssl:|handshake|wrong version number", "TLS error"),
        (
            r"connection (reset|aborted)|server ?disconnected|remote end closed",
            "connection dropped by the server",
        ),  # fmt: skip
    )
)
_HTTP_STATUS = re.compile(r"error=(\d{3})")
_SCRUB = (
    re.compile(r"\"[^\"]*\"|'[^']*'"),  # quoted: addresses, hosts, URLs in apprise's messages
    re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.I),  # URLs
    re.compile(r"\S+@\S+"),  # addresses
    re.compile(r"\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\b", re.I),  # IPv6 addresses
    re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"),  # IPv4 addresses
    re.compile(r"\b(?:[a-z0-9-]+\.)+[a-z]{2,}\b", re.I),  # host names
)


def _reason(records: list[logging.LogRecord]) -> str:
    # warnings, and the exceptions apprise logs at debug level; never the other debug lines (the
    # payload, the response), where the message's own words could pass for a cause
    warnings = [_message(r) for r in records if r.levelno >= logging.WARNING]
    errors = warnings + [
        text for r in records if (text := _message(r)).startswith("Socket Exception")
    ]
    http = [m.group(1) for line in warnings if (m := _HTTP_STATUS.search(line))]
    if http:
        return f"HTTP {http[-1]}"
    for pattern, words in _CAUSES:
        if any(pattern.search(line) for line in errors):
            return words
    crashed = [r.exc_info[0] for r in records if r.exc_info and r.exc_info[0] is not None]
    if crashed:
        return f"unexpected {crashed[-1].__name__} in Apprise"
    if not warnings:
        return "no detail from Apprise"
    text = warnings[-1]
    for pattern in _SCRUB:
        text = pattern.sub("…", text)
    return " ".join(text.split())[:160]


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except (TypeError, ValueError):
        return str(record.msg)
