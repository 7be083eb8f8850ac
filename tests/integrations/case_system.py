"""A stand-in case system for the journalföring tests: a real HTTP server on 127.0.0.1 that checks
each delivery's signature with the Standard Webhooks library (as a case system would), keeps what it
received, and answers as a test tells it to."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

ACK = "ack"  # 200 with {"document_id", "sha256"}: filed at once
ACCEPT = "accept"  # 202 without a document id: the receipt comes later through the API
FAIL = "fail"  # 503


@dataclass
class Received:
    headers: dict
    payload: dict
    pdf: bytes


@dataclass
class CaseSystem:
    url: str
    secret: str = ""
    answers: list[str] = field(default_factory=list)  # one per request; then `ACK`
    received: list[Received] = field(default_factory=list)
    refused: int = 0  # requests whose signature did not verify
    document_ids: Iterator[str] = field(default_factory=lambda: (f"DOK-{n}" for n in range(1, 1000)))
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(system: CaseSystem):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                payload = Webhook(system.secret).verify(body, dict(self.headers))
            except WebhookVerificationError:
                with system.lock:
                    system.refused += 1
                return self._answer(400, {"detail": "bad signature"})
            # Without content_base64 the document is to be pulled (CASE_FILE_DELIVERY=pull).
            pdf = base64.b64decode(payload["document"].get("content_base64", ""))
            with system.lock:
                system.received.append(Received(dict(self.headers), payload, pdf))
                answer = system.answers.pop(0) if system.answers else ACK
                document_id = next(system.document_ids)
            if answer == FAIL:
                return self._answer(503, {"detail": "down for maintenance"})
            if answer == ACCEPT:
                return self._answer(202, {})
            return self._answer(200, {"document_id": document_id, "sha256": hashlib.sha256(pdf).hexdigest()})

        def _answer(self, code: int, data: dict) -> None:
            out = json.dumps(data).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args) -> None:
            pass

    return Handler


def serve(system_factory=CaseSystem):
    """Start the server; returns (system, stop)."""
    system = system_factory(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(system))
    system.url = f"http://127.0.0.1:{server.server_address[1]}/lifemsg/journal"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return system, stop
