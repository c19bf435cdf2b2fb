"""The reader's HTTP server: uvicorn, with the two timeouts it lacks on an address others can reach.

uvicorn's h11 protocol waits for a request head for ever: 200 half-sent requests stayed open as
long as their sender liked, each holding a socket (slowloris). And a client that stops reading
holds its response, its task and its socket for ever too. Here a client has `request_timeout`
seconds to send a whole request (head and any body: the reader has no uploads), from connecting
or from the end of the previous response; and a response whose client reads nothing for
`write_timeout` seconds is dropped. Between requests uvicorn's keep-alive timeout (5 s) still
closes an idle connection first.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

REQUEST_TIMEOUT = 10.0
WRITE_TIMEOUT = 60.0  # generous: a reader on a slow, filtered link reads slowly but does read


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request and for each stalled write.

    Relies on H11Protocol's internals (`conn`, `transport`, `loop`, `handle_events`,
    `on_response_complete`): pyproject.toml bounds uvicorn's version for that.
    """

    request_timeout = REQUEST_TIMEOUT
    write_timeout = WRITE_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._request_timer: asyncio.TimerHandle | None = None
        self._write_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_request()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE):  # the whole request is in
            _cancel(self._request_timer)

    def on_response_complete(self) -> None:
        self._await_request()  # first: the next request may be pipelined, and handled just below
        super().on_response_complete()

    def pause_writing(self) -> None:
        super().pause_writing()
        _cancel(self._write_timer)
        self._write_timer = self.loop.call_later(self.write_timeout, self.transport.abort)  # close() would wait to send

    def resume_writing(self) -> None:
        super().resume_writing()
        _cancel(self._write_timer)

    def connection_lost(self, exc: Exception | None) -> None:
        _cancel(self._request_timer)
        _cancel(self._write_timer)
        super().connection_lost(exc)

    def _await_request(self) -> None:
        _cancel(self._request_timer)
        self._request_timer = self.loop.call_later(self.request_timeout, self.transport.close)


def _cancel(timer: asyncio.TimerHandle | None) -> None:
    if timer is not None:
        timer.cancel()


def config(app: ASGIApp, host: str, port: int, *, request_timeout: float = REQUEST_TIMEOUT,
           write_timeout: float = WRITE_TIMEOUT) -> uvicorn.Config:
    """uvicorn's configuration for the reader.

    No `limit_concurrency`: uvicorn counts open connections, half-sent ones included, so during a
    flood it would answer real readers 503 while the timeouts above already bound each flooder.
    """
    protocol = type("GuardedH11Protocol", (GuardedH11Protocol,),
                    {"request_timeout": request_timeout, "write_timeout": write_timeout})
    return uvicorn.Config(app, host=host, port=port, http=protocol, ws="none", log_level="warning")


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on `host` and `port`: bound before serve says where it reads, so that a
    port in use is said first (uvicorn binds late, and then exits with a log line)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=2048)  # uvicorn's backlog


def free_port(host: str, port: int) -> int:
    """A port after `port` that nothing listens on now (else one the system picks), to suggest."""
    for candidate in range(port + 1, min(port + 100, 65535) + 1):
        try:
            with listen(host, candidate):
                return candidate
        except OSError:
            continue
    with listen(host, 0) as sock:
        return int(sock.getsockname()[1])


def serve(app: ASGIApp, sock: socket.socket) -> None:
    """Serve `app` on `sock` (from `listen`) until interrupted (Ctrl-C)."""
    host, port = sock.getsockname()[:2]
    uvicorn.Server(config(app, host, port)).run(sockets=[sock])
