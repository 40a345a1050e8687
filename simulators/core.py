"""Shared machinery of the platform simulators: a threaded loopback HTTP server with a router,
a simulated clock, a request journal, fault injection and a control API under ``/_sim/``.

The simulators are stateful fakes of Brightpearl and Amazon SP-API. Production code reaches them
only through configured base URLs, so everything a test wants to arrange or inspect goes through
``/_sim/...`` routes (or the same operations called in-process on the simulator object).

The clock is in ``clock.py``, the request/response/route/fault records in ``wire.py`` and the rate
limiters in ``limits.py``; this module re-exports them, so ``from simulators.core import ...`` keeps
working for every name.
"""

from __future__ import annotations

import contextlib
import random
import re
import socket
import struct
import threading
import time
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from simulators.clock import SimClock
from simulators.limits import SlidingWindowLimiter, TokenBucket
from simulators.wire import (
    FAULT_KINDS,
    JSON,
    Fault,
    Handler,
    HttpError,
    JournalEntry,
    Request,
    Response,
    Route,
    iso,
    parse_id_set,
)

__all__ = ["FAULT_KINDS", "JSON", "Fault", "Handler", "HttpError", "JournalEntry", "Request", "Response", "Route",
           "SimClock", "SimulatorServer", "SlidingWindowLimiter", "TokenBucket", "iso", "parse_id_set"]


class _DropConnection(Exception):
    def __init__(self, hard_reset: bool) -> None:
        super().__init__("drop connection")
        self.hard_reset = hard_reset


class SimulatorServer:
    """Base class: subclasses register routes with :meth:`route` and keep their world state.

    One lock serialises every route handler, so the world is always consistent; connections
    are still served on threads so a slow (latency-injected) request does not block others.
    """

    name = "simulator"
    # How often serve_forever checks for shutdown: stop() waits up to this long.
    poll_interval = 0.05

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, clock: SimClock | None = None,
                 seed: int = 7) -> None:
        self.clock = clock or SimClock()
        self.lock = threading.RLock()
        self.random = random.Random(seed)
        self._routes: list[Route] = []
        self._faults: list[Fault] = []
        self.journal: list[JournalEntry] = []
        self._host = host
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._register_control_routes()

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> Self:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                server._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

        self._httpd = ThreadingHTTPServer((self._host, self._port), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=self.name, daemon=True,
                                        kwargs={"poll_interval": self.poll_interval})
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "simulator not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ----------------------------------------------------------------- routing
    def route(self, method: str, pattern: str, handler: Handler, *, name: str | None = None,
              write: bool | None = None) -> None:
        """Register ``handler`` for ``method`` and a regex ``pattern`` matched against the whole path."""
        self._routes.append(Route(
            method=method.upper(),
            pattern=re.compile(pattern + r"/?$"),
            handler=handler,
            name=name or handler.__name__,
            write=write if write is not None else method.upper() in ("POST", "PUT", "PATCH", "DELETE"),
        ))

    def _match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        path_matched = False
        for r in self._routes:
            m = r.pattern.match(path)
            if m:
                path_matched = True
                if r.method == method:
                    return r, {k: v for k, v in m.groupdict().items() if v is not None}, True
        return None, {}, path_matched

    # ----------------------------------------------------------------- faults
    def add_fault(self, fault: Fault | dict[str, Any]) -> Fault:
        f = fault if isinstance(fault, Fault) else Fault(**fault)
        with self.lock:
            self._faults.append(f)
        return f

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def _pick_fault(self, method: str, path: str, route: Route | None) -> Fault | None:
        subject = f"{method} {path}"
        with self.lock:
            for f in self._faults:
                if f.count is not None and f.count <= 0:
                    continue
                if not (re.search(f.match, subject) or (route and re.fullmatch(f.match, route.name))):
                    continue
                if self.random.random() >= f.rate:
                    continue
                if f.count is not None:
                    f.count -= 1
                f.fired += 1
                return f
        return None

    # ----------------------------------------------------------------- hooks for subclasses
    def authenticate(self, req: Request, route: Route) -> Response | None:
        """Return a response to refuse the request (e.g. 401), or None to let it through."""
        return None

    def before_route(self, req: Request, route: Route) -> Response | None:
        """Rate limiting and other gates; return a response to answer instead of the route."""
        return None

    def decorate(self, req: Request, resp: Response, route: Route | None) -> None:
        """Add headers every response carries (request ids, rate-limit headers...)."""

    def not_found(self, req: Request) -> Response:
        return Response(404, {"errors": [{"code": "NotFound", "message": f"no route for {req.method} {req.path}"}]})

    def method_not_allowed(self, req: Request) -> Response:
        message = f"{req.method} not allowed on {req.path}"
        return Response(405, {"errors": [{"code": "MethodNotAllowed", "message": message}]})

    # ----------------------------------------------------------------- request handling
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus the client's
        # delayed ACK adds ~40 ms to every keep-alive response.
        with contextlib.suppress(OSError):
            h.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        req = Request(
            method=h.command.upper(),
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in h.headers.items()},
            body=body,
        )
        try:
            resp = self.dispatch(req)
        except _DropConnection as drop:
            self._drop(h, drop.hard_reset)
            return
        payload = resp.encode()
        h.send_response(resp.status)
        if resp.raw is None and resp.body is None:
            pass
        else:
            h.send_header("Content-Type", resp.content_type)
        for k, v in resp.headers.items():
            h.send_header(k, v)
        if "Content-Length" not in resp.headers:  # a scenario may claim another length on purpose
            h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        if payload and req.method != "HEAD":
            h.wfile.write(payload)

    @staticmethod
    def _drop(h: BaseHTTPRequestHandler, hard_reset: bool) -> None:
        sock: socket.socket = h.connection
        try:
            if hard_reset:
                # SO_LINGER 0 makes close() send RST: the client sees "connection reset by peer".
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        finally:
            h.close_connection = True

    def dispatch(self, req: Request) -> Response:
        """Route one request through faults, auth, gates and the handler; journal the outcome."""
        if req.path.startswith("/_sim/"):
            route, params, path_ok = self._match(req.method, req.path)
            if route is None:
                return self.not_found(req)
            req.params = params
            try:
                return route.handler(req)
            except HttpError as e:
                return e.response
            except (ValueError, KeyError, TypeError) as e:
                return Response(400, {"error": f"{type(e).__name__}: {e}"})

        route, params, path_ok = self._match(req.method, req.path)
        req.params = params
        self.clock.on_request()
        fault = self._pick_fault(req.method, req.path, route)
        if fault and fault.kind in ("latency", "timeout"):
            time.sleep(fault.seconds)
            if fault.kind == "timeout":
                self._record(req, 0, route, fault)
                raise _DropConnection(hard_reset=False)
        if fault and fault.kind == "reset":
            self._record(req, 0, route, fault)
            raise _DropConnection(hard_reset=True)
        if fault and fault.kind == "status":
            resp = Response(fault.status, fault.body if fault.body is not None else self.fault_body(fault.status))
            with self.lock:
                self.decorate(req, resp, route)
            self._record(req, resp.status, route, fault)
            return resp

        with self.lock:
            if route is None:
                resp = self.method_not_allowed(req) if path_ok else self.not_found(req)
            else:
                resp = self.authenticate(req, route) or self.before_route(req, route) or self._run(route, req)
            self.decorate(req, resp, route)
            applied_ok = route is not None and resp.status < 400
            # Every fault that fired is journaled with its kind; a latency fault's request still ran.
            self._record(req, resp.status, route, fault)

        if fault and fault.kind == "write_then_fail" and applied_ok:
            if fault.status == 0:
                raise _DropConnection(hard_reset=True)
            resp = Response(fault.status, fault.body if fault.body is not None else self.fault_body(fault.status))
            with self.lock:
                self.decorate(req, resp, route)
        return resp

    def _run(self, route: Route, req: Request) -> Response:
        try:
            return route.handler(req)
        except HttpError as e:
            return e.response

    def fault_body(self, status: int) -> JSON:
        """The error body this platform sends for an injected status."""
        return {"errors": [{"code": "InternalFailure", "message": f"injected {status}"}]}

    def _record(self, req: Request, status: int, route: Route | None, fault: Fault | None) -> None:
        try:
            body = req.json()
        except (ValueError, UnicodeDecodeError):
            body = req.body.decode("utf-8", "replace")
        with self.lock:
            self.journal.append(JournalEntry(
                seq=len(self.journal) + 1,
                at=self.clock.now().isoformat(),
                method=req.method,
                path=req.path,
                query=req.query,
                body=body,
                status=status,
                route=route.name if route else "",
                write=bool(route and route.write),
                fault=fault.kind if fault else None,
                fault_id=fault.id if fault else None,
                seconds=fault.seconds if fault and fault.kind in ("latency", "timeout") else None,
            ))

    def requests(self, *, route: str | None = None, method: str | None = None,
                 writes_only: bool = False, ok_only: bool = False) -> list[JournalEntry]:
        """Journal entries filtered; tests assert on these (e.g. how many stock corrections landed)."""
        with self.lock:
            out = list(self.journal)
        return [e for e in out
                if (route is None or e.route == route)
                and (method is None or e.method == method)
                and (not writes_only or e.write)
                and (not ok_only or 200 <= e.status < 300)]

    # ----------------------------------------------------------------- control API
    def state(self) -> JSON:
        """The simulated world as JSON; subclasses extend."""
        return {}

    def seed(self, data: JSON) -> None:
        """Load world state from JSON; subclasses implement."""
        raise NotImplementedError

    def reset(self) -> None:
        with self.lock:
            self.journal.clear()
            self._faults.clear()

    def _register_control_routes(self) -> None:
        def get_state(req: Request) -> Response:
            with self.lock:
                return Response(200, self.state())

        def post_seed(req: Request) -> Response:
            with self.lock:
                self.seed(req.json() or {})
            return Response(200, {"ok": True})

        def post_fault(req: Request) -> Response:
            f = self.add_fault(req.json())
            return Response(201, asdict(f))

        def list_faults(req: Request) -> Response:
            with self.lock:
                return Response(200, [asdict(f) for f in self._faults])

        def delete_faults(req: Request) -> Response:
            self.clear_faults()
            return Response(200, {"ok": True})

        def advance(req: Request) -> Response:
            body = req.json() or {}
            unknown = set(body) - {"speed", "seconds", "tick", "auto_advance"}
            if unknown:
                raise ValueError(f"unknown clock field(s) {sorted(unknown)}; expected speed, seconds, tick, "
                                 f"auto_advance")
            if "speed" in body:
                self.clock.set_speed(float(body["speed"]))
            if "tick" in body:
                self.clock.tick = float(body["tick"])
            if "auto_advance" in body:
                self.clock.auto_advance = bool(body["auto_advance"])
            self.clock.advance(float(body.get("seconds", 0)))
            return Response(200, self.clock.describe())

        def get_clock(req: Request) -> Response:
            return Response(200, self.clock.describe())

        def get_journal(req: Request) -> Response:
            entries = self.requests(route=req.q("route"), method=req.q("method"),
                                    writes_only=req.q("writes") == "true")
            return Response(200, [asdict(e) for e in entries])

        def post_reset(req: Request) -> Response:
            self.reset()
            return Response(200, {"ok": True})

        self.control_routes("/_sim", [
            ("GET", "/state", get_state), ("POST", "/seed", post_seed), ("GET", "/faults", list_faults),
            ("POST", "/faults", post_fault), ("DELETE", "/faults", delete_faults), ("POST", "/clock", advance),
            ("GET", "/clock", get_clock), ("GET", "/journal", get_journal), ("POST", "/reset", post_reset)])

    def control_routes(self, prefix: str, table: list[tuple[str, str, Handler]]) -> None:
        """Register control routes under ``prefix`` (method, path, handler): never journaled as writes."""
        for method, path, handler in table:
            self.route(method, prefix + path, handler, write=False)
