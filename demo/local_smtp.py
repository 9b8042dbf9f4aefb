"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives: for the tests and for
`make demo`, in place of a council's mail relay. No TLS, no login, every recipient accepted.

    with LocalSmtpServer(folder=Path("data/mail")) as smtp:
        settings.smtp_url = smtp.url()      # mailto://127.0.0.1:PORT?from=cin-alerts@...
        ...
        smtp.messages                       # each a Received, in order of arrival

It can be stopped and started again on the same port (connections are then refused in between,
as from a relay that is down).
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

READY_TIMEOUT_SECONDS = 5.0
_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._@+-]")


@dataclass
class Received:
    envelope_from: str
    envelope_to: tuple[str, ...]
    subject: str
    body: str  # the decoded text/plain part, "\n" line ends, without the final one SMTP adds
    headers: dict[str, str]  # decoded; the last one wins where a header repeats
    raw: bytes


class LocalSmtpServer:
    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, folder: Path | None = None
    ) -> None:
        self.host = host
        self.port = port  # 0 until the first start picks a free one; kept for later starts
        self.folder = folder
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._controller: _Controller | None = None
        self._written = 0

    def url(self, sender: str = "cin-alerts@council.example") -> str:
        """The CIN_SMTP_URL that reaches this server (plain SMTP, no STARTTLS, no login)."""
        if not self.port:
            raise RuntimeError("start the server first: its port is picked on the first start")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"mailto://{host}:{self.port}?from={quote(sender, safe='@')}"

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is not None:
            return
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._written = max((_number(p) for p in self.folder.glob("*.eml")), default=0)
        if self.port:
            _wait_until_bindable(self.host, self.port)
        controller = _Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            ready_timeout=READY_TIMEOUT_SECONDS,
            # without it aiosmtpd asks DNS for this machine's name (socket.getfqdn), which can stall
            server_hostname="cin-local-smtp",
        )
        controller.start()
        self.port = controller.port
        self._controller = controller

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """The messages once at least `count` have arrived (for senders on other threads)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.messages)} of {count} messages arrived")
            time.sleep(0.01)
        with self._lock:
            return list(self.messages)

    def __enter__(self) -> LocalSmtpServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _receive(self, envelope: Envelope) -> None:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        text = parsed.get_body(preferencelist=("plain",))
        received = Received(
            envelope_from=envelope.mail_from or "",
            envelope_to=tuple(envelope.rcpt_tos),
            subject=str(parsed.get("Subject", "")),
            body=_text(text) if isinstance(text, EmailMessage) else "",
            headers={name: str(value) for name, value in parsed.items()},
            raw=raw,
        )
        with self._lock:
            self.messages.append(received)
            if self.folder is not None:
                self._written += 1
                first = received.envelope_to[0] if received.envelope_to else "nobody"
                name = _UNSAFE_IN_FILE_NAME.sub("_", first)[:80]
                (self.folder / f"{self._written:05d}-{name}.eml").write_bytes(raw)


class _Handler:
    def __init__(self, server: LocalSmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        self.server._receive(envelope)
        return "250 Message accepted for delivery"


class _Controller(Controller):
    """aiosmtpd's Controller, able to listen on port 0: it learns the port the system picked
    before it opens its own first connection to check that the server answers."""

    def _trigger_server(self) -> None:
        if not self.port and isinstance(self.server, asyncio.Server):
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]  # aiosmtpd leaves it untyped


def _wait_until_bindable(host: str, port: int, timeout: float = READY_TIMEOUT_SECONDS) -> None:
    """Binding again right after a stop: asyncio sets SO_REUSEADDR, so this passes at once unless
    something else holds the port; then fail fast with the reason, not after aiosmtpd's timeout."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
        time.sleep(0.05)


def _text(part: EmailMessage) -> str:
    content = part.get_content()
    return str(content).replace("\r\n", "\n").removesuffix("\n")


def _number(path: Path) -> int:
    head = path.name.split("-", 1)[0]
    return int(head) if head.isdigit() else 0
