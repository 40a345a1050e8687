"""Shared machinery of the platform simulators: a threaded loopback HTTP server with a router,
a simulated clock, a request journal, fault injection and a control API under ``/_sim/``.

The simulators are stateful fakes of Brightpearl and Amazon SP-API. Production code reaches them
only through configured base URLs, so everything a test wants to arrange or inspect goes through
``/_sim/...`` routes (or the same operations called in-process on the simulator object).
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

JSON = Any


class SimClock:
    """Simulated time: real elapsed time times ``speed``, plus manual advances.

    Rate-limit windows, report processing and token expiry all read this clock, so a test can
    jump an hour ahead without waiting, and a benchmark can run a "minute" in a few seconds.

    Two modes let time move in a test whose clock is otherwise frozen (``speed=0``), without the
    code under test knowing (it sleeps with real ``time.sleep`` for whatever the simulator announces):

    - ``tick``: every request a simulator serves advances the clock by this many seconds, so token
      expiry, presigned-URL expiry and report processing happen after a number of requests;
    - ``auto_advance``: when a simulator tells a client to wait because it is throttled (see
      :meth:`real_wait`), the clock jumps over the wait at once and the announced real wait is 0,
      so a throttled client's retry finds the window rolled over (Brightpearl's 503 + throttle period).
    """

    def __init__(self, start: datetime | None = None, speed: float = 1.0, *, tick: float = 0.0,
                 auto_advance: bool = False) -> None:
        self._start = start or datetime.now(UTC)
        self._real0 = time.monotonic()
        self._offset = 0.0
        self._speed = speed
        self.tick = tick
        self.auto_advance = auto_advance
        self.advanced_for_waits = 0.0  # simulated seconds skipped by auto_advance (tests read it)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.seconds())

    def seconds(self) -> float:
        """Simulated seconds elapsed since the clock started."""
        with self._lock:
            return (time.monotonic() - self._real0) * self._speed + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def on_request(self) -> None:
        """A simulator served a request: ``tick`` mode moves time on."""
        if self.tick:
            self.advance(self.tick)

    def real_wait(self, sim_seconds: float, *, blocking: bool = False) -> float:
        """Real seconds a client must wait for ``sim_seconds`` of simulated time to pass.

        ``blocking``: the client cannot go on before the wait (it is throttled). With ``auto_advance``
        on a frozen clock, such a wait is skipped: the clock advances now and 0 is returned. A frozen
        clock without it can never let the wait pass (a very large number, as before).
        """
        if sim_seconds <= 0:
            return 0.0
        if self._speed > 0:
            return sim_seconds / self._speed
        if self.auto_advance:
            if blocking:
                self.advance(sim_seconds)
                self.advanced_for_waits += sim_seconds
            return 0.0
        return sim_seconds / 1e-9

    def set_speed(self, speed: float) -> None:
        with self._lock:
            # Re-base so the change of speed does not jump the clock.
            elapsed = (time.monotonic() - self._real0) * self._speed + self._offset
            self._real0 = time.monotonic()
            self._offset = elapsed
            self._speed = speed

    @property
    def speed(self) -> float:
        return self._speed

    def describe(self) -> dict[str, Any]:
        return {"now": self.now().isoformat(), "speed": self._speed, "tick": self.tick,
                "auto_advance": self.auto_advance, "advanced_for_waits": self.advanced_for_waits}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # path parameters from the route

    def json(self) -> JSON:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))

    def q(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass
class Response:
    status: int = 200
    body: JSON = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # when set, sent as-is instead of JSON
    content_type: str = "application/json;charset=UTF-8"

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")


class HttpError(Exception):
    """Raised by a route handler to answer with an error response."""

    def __init__(self, status: int, body: JSON, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.response = Response(status, body, headers or {})


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    name: str
    write: bool  # does the route change state (recorded in the write journal)


FAULT_KINDS = ("status", "latency", "timeout", "reset", "write_then_fail")


@dataclass
class Fault:
    """One fault rule. ``match`` is a regex searched in ``"METHOD /path"`` (or a route name).

    kinds: ``status`` answer ``status`` without running the route; ``latency`` add ``seconds``
    then run normally; ``timeout`` hold the connection ``seconds`` and then drop it without an
    answer; ``reset`` drop the connection at once (TCP RST); ``write_then_fail`` run the route
    (the change is applied) and then answer 500 (``status``) or drop the connection when
    ``status`` is 0.
    """

    match: str
    kind: str = "status"
    status: int = 500
    rate: float = 1.0
    count: int | None = None  # how many more times it may fire; None = unlimited
    seconds: float = 0.0
    body: JSON = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        re.compile(self.match)


@dataclass
class JournalEntry:
    seq: int
    at: str  # simulated time, ISO-8601
    method: str
    path: str
    query: dict[str, list[str]]
    body: JSON
    status: int
    route: str
    write: bool
    fault: str | None = None  # the kind of the fault that fired on this request (status, latency, ...)
    fault_id: str | None = None
    seconds: float | None = None  # latency/timeout faults: the delay injected


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

        self.route("GET", r"/_sim/state", get_state, write=False)
        self.route("POST", r"/_sim/seed", post_seed, write=False)
        self.route("GET", r"/_sim/faults", list_faults, write=False)
        self.route("POST", r"/_sim/faults", post_fault, write=False)
        self.route("DELETE", r"/_sim/faults", delete_faults, write=False)
        self.route("POST", r"/_sim/clock", advance, write=False)
        self.route("GET", r"/_sim/clock", get_clock, write=False)
        self.route("GET", r"/_sim/journal", get_journal, write=False)
        self.route("POST", r"/_sim/reset", post_reset, write=False)


class SlidingWindowLimiter:
    """Counts requests in a sliding window of simulated seconds (Brightpearl's rolling minute)."""

    def __init__(self, clock: SimClock, limit: int, window_seconds: float) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window_seconds
        self._hits: list[float] = []

    def _trim(self, now: float) -> None:
        cutoff = now - self.window
        i = 0
        while i < len(self._hits) and self._hits[i] <= cutoff:
            i += 1
        if i:
            del self._hits[:i]

    def try_hit(self) -> bool:
        now = self.clock.seconds()
        self._trim(now)
        if len(self._hits) >= self.limit:
            return False
        self._hits.append(now)
        return True

    def remaining(self) -> int:
        self._trim(self.clock.seconds())
        return max(0, self.limit - len(self._hits))

    def ms_until_reset(self) -> int:
        """Milliseconds until the oldest counted request leaves the window."""
        now = self.clock.seconds()
        self._trim(now)
        if not self._hits:
            return 0
        sim_seconds = self._hits[0] + self.window - now
        # Headers speak real milliseconds: a client sleeps in real time. A full window blocks the
        # client, so an auto-advancing clock skips the wait (and the window rolls over).
        return max(0, int(self.clock.real_wait(sim_seconds, blocking=len(self._hits) >= self.limit) * 1000))


class TokenBucket:
    """Amazon's per-operation limiter: ``rate`` tokens per simulated second, ``burst`` capacity."""

    def __init__(self, clock: SimClock, rate: float, burst: int) -> None:
        self.clock = clock
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._at = clock.seconds()

    def try_take(self) -> bool:
        now = self.clock.seconds()
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


def parse_id_set(text: str) -> list[int]:
    """Brightpearl ID set: ``1007``, ``1000-1010``, ``1,5,9``, mixed. Raises ValueError on bad input."""
    ids: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise ValueError(f"empty element in id set {text!r}")
        if "-" in part:
            lo_s, hi_s = part.split("-", 1)
            lo, hi = int(lo_s), int(hi_s)
            if hi < lo:
                raise ValueError(f"descending range {part!r} in id set")
            ids.extend(range(lo, hi + 1))
        else:
            ids.append(int(part))
    return ids


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
