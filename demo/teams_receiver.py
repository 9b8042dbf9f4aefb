"""A stand-in for a Power Automate "Workflows" webhook on loopback, for the alert tests.

Apprise's workflows plugin always posts over HTTPS, so the receiver serves TLS with a certificate
for 127.0.0.1 made when it starts. Requests trusts it when REQUESTS_CA_BUNDLE names
`receiver.ca_file` (the `teams_receiver` fixture sets that); otherwise use
`apprise_url(..., verify=False)`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socket import socket
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SIGNATURE = "test-signature"


@dataclass(frozen=True)
class WorkflowRequest:
    method: str
    path: str  # without the query, e.g. /workflows/cin-east/triggers/manual/paths/invoke
    query: dict[str, str]  # api-version, sp, sv, sig
    headers: dict[str, str]
    body: Any  # the parsed JSON (an Adaptive Card message), or the text when it is not JSON

    @property
    def workflow(self) -> str:
        parts = self.path.split("/")
        return parts[parts.index("workflows") + 1] if "workflows" in parts else ""

    @property
    def texts(self) -> dict[str, str]:
        """The card's TextBlocks by id: Apprise puts the title under "title", the body under
        "body"."""
        blocks = self.body["attachments"][0]["content"]["body"]
        return {b["id"]: b["text"] for b in blocks if b.get("type") == "TextBlock" and "id" in b}


class TeamsReceiver:
    def __init__(self, *, fail_with: int | None = None) -> None:
        self.fail_with = fail_with  # an HTTP status to answer with instead of 202 (e.g. 500)
        self.requests: list[WorkflowRequest] = []
        self.port = 0
        self._lock = threading.Lock()
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._server: _TlsServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def ca_file(self) -> Path:
        if self._folder is None:
            raise RuntimeError("start the receiver first")
        return Path(self._folder.name) / "cert.pem"

    def apprise_url(self, workflow: str, *, verify: bool = True) -> str:
        """The Apprise URL that posts to this receiver as `workflow` (letters, digits, - and _)."""
        if not self.port:
            raise RuntimeError("start the receiver first")
        tail = "" if verify else "?verify=no"
        return f"workflows://127.0.0.1:{self.port}/{workflow}/{SIGNATURE}/{tail}"

    def start(self) -> None:
        if self._server is not None:
            return
        self._folder = tempfile.TemporaryDirectory(prefix="teams-receiver-")
        key_file = Path(self._folder.name) / "key.pem"
        _write_certificate(self.ca_file, key_file)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, key_file)
        self._server = _TlsServer(("127.0.0.1", 0), _handler_for(self), context)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def __enter__(self) -> TeamsReceiver:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _record(self, request: WorkflowRequest) -> int:
        with self._lock:
            self.requests.append(request)
        return self.fail_with or 202


class _TlsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        context: ssl.SSLContext,
    ) -> None:
        super().__init__(address, handler)
        self.context = context

    def finish_request(self, request: Any, client_address: Any) -> None:
        # the TLS handshake runs in the request's own thread, so one slow client stalls no other
        assert isinstance(request, socket)
        tls = self.context.wrap_socket(request, server_side=True)
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-handshake is no test failure


def _handler_for(receiver: TeamsReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            text = raw.decode("utf-8", "replace")
            try:
                body: Any = json.loads(text)
            except json.JSONDecodeError:
                body = text
            url = urlsplit(self.path)
            status = receiver._record(
                WorkflowRequest(
                    method="POST",
                    path=url.path,
                    query={k: v[-1] for k, v in parse_qs(url.query).items()},
                    headers=dict(self.headers.items()),
                    body=body,
                )
            )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: pytest shows what matters

    return Handler


def _write_certificate(cert_file: Path, key_file: Path) -> None:
    """A self-signed certificate for 127.0.0.1 and localhost, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
