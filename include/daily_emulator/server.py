"""Run the emulator with uvicorn in a background thread: for tests, the demo and the CLI."""

from __future__ import annotations

import logging
import socket
import threading
import time
from types import TracebackType

import uvicorn

from daily_emulator.admin_client import AdminClient
from daily_emulator.app import create_app
from daily_emulator.runtime import Emulator
from daily_emulator.settings import EmulatorSettings
from daily_emulator.state import Store

log = logging.getLogger(__name__)

STARTUP_TIMEOUT_SECONDS = 10.0
GRACEFUL_SHUTDOWN_SECONDS = 1.0


class EmulatorServer:
    """The emulator on ``host:port`` (port 0: a free port), served from a daemon thread.

    ``start()`` returns once the server accepts connections; ``stop()`` returns within a couple of
    seconds even if a request is hanging. It can be started again after ``stop()`` (same state).
    """

    def __init__(
        self,
        *,
        settings: EmulatorSettings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        access_log: bool = False,
    ) -> None:
        self.settings = settings if settings is not None else EmulatorSettings()
        self.host = host
        self.port = port
        self.log_level = log_level
        self.access_log = access_log
        self.app = create_app(self.settings)
        self.emulator: Emulator = self.app.state.emulator
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._admin: AdminClient | None = None

    # ------------------------------------------------------------------ addresses

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def state(self) -> Store:
        """The live in-memory store (same process), for assertions."""
        return self.emulator.store

    @property
    def admin(self) -> AdminClient:
        if self._admin is None:
            self._admin = AdminClient(url=self.url)
        return self._admin

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> EmulatorServer:
        if self.running:
            return self
        family, kind, proto, _, address = socket.getaddrinfo(
            self.host, self.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )[0]
        # proto must be IPPROTO_TCP, or asyncio does not set TCP_NODELAY (40 ms per keep-alive request).
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        sock.listen(2048)
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level=self.log_level,
            access_log=self.access_log,
            lifespan="off",
            loop="asyncio",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"daily-emulator-{self.port}", daemon=True
        )
        self._server, self._thread = server, thread
        self.emulator.end_shutdown()
        thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                sock.close()
                raise RuntimeError(f"Daily emulator did not start on {self.url}")
            time.sleep(0.01)
        self._wait_accepting(deadline)
        log.info("Daily emulator listening on %s", self.base_url)
        return self

    def _wait_accepting(self, deadline: float) -> None:
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self.emulator.begin_shutdown()
        self.emulator.webhooks.stop()
        server.should_exit = True
        thread.join(timeout=GRACEFUL_SHUTDOWN_SECONDS + 2)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=2)
        if thread.is_alive():
            log.warning("Daily emulator thread on %s did not stop", self.url)
        self._server = self._thread = None
        self.emulator.end_shutdown()
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
