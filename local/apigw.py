"""A local stand-in for API Gateway (HTTP API): turns HTTP requests into payload-v2 events.

Routes come from the template's HttpApi events, so the Brightpearl simulator can deliver its
webhooks over real HTTP to the same handler that runs behind API Gateway in AWS.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local.runtime import _TEMPLATE, invoke


def _routes() -> list[tuple[str, re.Pattern[str], str, str]]:
    out = []
    for logical, res in _TEMPLATE["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        for ev in (res["Properties"].get("Events") or {}).values():
            if ev["Type"] == "HttpApi":
                path = ev["Properties"]["Path"]
                regex = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")
                out.append((ev["Properties"]["Method"].upper(), regex, path, logical))
    return out


def http_api_event(method: str, route_path: str, raw_path: str, query: str, headers: dict[str, str],
                   body: bytes, path_params: dict[str, str], stage: str = "local") -> dict[str, Any]:
    try:
        text, is_b64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_b64 = base64.b64encode(body).decode("ascii"), True
    return {
        "version": "2.0",
        "routeKey": f"{method} {route_path}",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": {k.lower(): v for k, v in headers.items()},
        "queryStringParameters": dict(parse_qsl(query)) or None,
        "pathParameters": path_params or None,
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "stage": stage,
            "requestId": f"local-{time.time_ns()}", "timeEpoch": int(time.time() * 1000),
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": headers.get("User-Agent", "")},
        },
        "body": text or None,
        "isBase64Encoded": is_b64,
    }


class LocalHttpApi:
    def __init__(self, port: int = 0) -> None:
        self.routes = _routes()
        self.calls: list[dict[str, Any]] = []
        api = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, headers, payload = api.respond(self.command, parts.path, parts.query,
                                                       dict(self.headers.items()), body)
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        # One handler invocation at a time, as one Lambda instance would process them.
        self._invoke_lock = threading.Lock()

    def start(self) -> LocalHttpApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def handle(self, method: str, path: str, query: str, headers: dict[str, str],
               body: bytes) -> tuple[int, bytes]:
        status, _headers, payload = self.respond(method, path, query, headers, body)
        return status, payload

    def respond(self, method: str, path: str, query: str, headers: dict[str, str],
                body: bytes) -> tuple[int, dict[str, str], bytes]:
        """The handler's answer with its response headers (e.g. the pages' text/html and no-store)."""
        for route_method, regex, route_path, logical in self.routes:
            m = regex.match(path)
            if m and route_method == method:
                event = http_api_event(method, route_path, path, query, headers, body, m.groupdict())
                with self._invoke_lock:
                    try:
                        result = invoke(logical, event)
                    except Exception:  # as API Gateway does when the function fails: a 500, not a dropped
                        # connection (a browser silently resends a request whose connection dropped)
                        logging.getLogger(__name__).exception("%s failed", logical)
                        self.calls.append({"function": logical, "path": path, "status": 500})
                        return 500, {}, json.dumps({"message": "Internal Server Error"}).encode()
                self.calls.append({"function": logical, "path": path, "status": result.get("statusCode")})
                return (int(result.get("statusCode", 200)), dict(result.get("headers") or {}),
                        str(result.get("body", "")).encode("utf-8"))
        return 404, {}, json.dumps({"message": "Not Found"}).encode()
