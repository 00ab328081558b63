"""A platform's event receiver, as small as it gets: verifies each POST with the `standardwebhooks` library and
prints one line per event. For trying the gateway by hand (README, "A platform's integration"), not for
production: a real receiver stores the event (deduplicating on webhook-id) before answering 2xx.

    EVENT_SECRET=whsec_... python examples/event_receiver.py [port]    (port 9000 by default)

Answers 204 to an event it verified, 400 to anything else (the gateway then retries it with backoff).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


PRINTING = threading.Lock()


def say(line: str) -> None:
    """One whole line at a time: requests are handled in threads, whose prints would interleave."""
    with PRINTING:
        print(line, flush=True)


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # connections waiting to be accepted: the gateway posts many events at once


class Receiver(BaseHTTPRequestHandler):
    webhook = Webhook(os.environ["EVENT_SECRET"])

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            event = self.webhook.verify(body, dict(self.headers))
        except WebhookVerificationError as exc:
            say(f"refused: {exc}")
            self.send_response(400)
        else:
            say(f'{self.headers["webhook-id"]} {event["type"]} {json.dumps(event["data"])}')
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:  # one line per event is enough
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    server = Server(("127.0.0.1", port), Receiver)
    say(f"listening on 127.0.0.1:{port}")
    server.serve_forever()
