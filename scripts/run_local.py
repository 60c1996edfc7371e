"""Run the whole service locally: the model Space, then the API gateway.

Starts ``python -m model_space`` and ``python -m api_gateway`` from the repository root, waits
until each answers HTTP on 127.0.0.1, prints the page URL and keeps both running until Ctrl-C or
SIGTERM, which stops both. If either exits on its own, the other is stopped and this script
exits non-zero after printing the tail of the dead one's output.

Environment:
  MODEL_SPACE_PORT            port of the Gradio Space (default 7860)
  GATEWAY_PORT                port of the FastAPI gateway (default 8000)
  GATEWAY_SPACE_URL           where the gateway finds the Space;
                              default http://127.0.0.1:$MODEL_SPACE_PORT/
  RUN_LOCAL_STARTUP_TIMEOUT   seconds to wait for each service to answer (default 300)
"""

from __future__ import annotations

import collections
import http.client
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
TAIL_LINES = 40
STOP_GRACE_SECONDS = 10.0
_print_lock = threading.Lock()


def say(message: str) -> None:
    with _print_lock:
        print(f"[run_local] {message}", flush=True)


class Service:
    def __init__(self, label: str, module: str, port: int) -> None:
        self.label = label
        self.module = module
        self.port = port
        self.proc: subprocess.Popen[str] | None = None
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._pump: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def start(self, env: dict[str, str]) -> None:
        # A session of its own: Ctrl-C in the terminal reaches only this launcher, which then
        # stops each service's whole process group in order.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            start_new_session=True,
        )
        self._pump = threading.Thread(target=self._forward_output, daemon=True)
        self._pump.start()

    def _forward_output(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.tail.append(line)
            with _print_lock:
                print(f"[{self.label}] {line}", flush=True)

    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def answers(self) -> bool:
        """True once anything answers HTTP on the port (any status counts)."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
        try:
            conn.request("GET", "/")
            conn.getresponse().read()
            return True
        except OSError:
            return False
        finally:
            conn.close()

    def stop(self, urgent: bool = False) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self._join_pump()
            return
        say(f"stopping {self.label} (pid {self.proc.pid})")
        self._signal_group(signal.SIGKILL if urgent else signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            say(f"{self.label} still running after {STOP_GRACE_SECONDS:.0f}s; killing it")
            self._signal_group(signal.SIGKILL)
            self.proc.wait()
        # Whatever it started in its group (workers, reloaders) goes too.
        self._signal_group(signal.SIGKILL)
        self._join_pump()

    def _signal_group(self, sig: int) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def _join_pump(self) -> None:
        if self._pump is not None:
            self._pump.join(timeout=2)

    def print_tail(self) -> None:
        with _print_lock:
            print(f"----- last {len(self.tail)} lines of {self.label} -----", file=sys.stderr)
            for line in self.tail:
                print(line, file=sys.stderr)
            print("-----", file=sys.stderr, flush=True)


def port_from_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise SystemExit(f"run_local: {name}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise SystemExit(f"run_local: {name}={port} is out of range")
    return port


def missing_module_reason(module: str) -> str | None:
    """Why ``python -m module`` cannot run from ROOT, or None. Imports nothing."""
    sys.path.insert(0, str(ROOT))
    try:
        spec = importlib.util.find_spec(module)
    finally:
        sys.path.remove(str(ROOT))
    if spec is None:
        return f"no module named {module!r} (expected {ROOT / module}/__main__.py)"
    locations = list(spec.submodule_search_locations or [])
    if locations and not any((Path(loc) / "__main__.py").exists() for loc in locations):
        return f"package {module!r} has no __main__.py, so `python -m {module}` cannot run it"
    return None


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers do: connections left in TIME_WAIT by an earlier run don't count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


class Launcher:
    def __init__(self, services: list[Service], timeout: float) -> None:
        self.services = services
        self.timeout = timeout
        self.stop_signal: int | None = None

    def _on_signal(self, signum: int, _frame: object) -> None:
        if self.stop_signal is not None:
            # Second Ctrl-C: no more waiting.
            say("second signal: killing everything now")
            for service in reversed(self.services):
                if service.proc is not None and service.proc.poll() is None:
                    service._signal_group(signal.SIGKILL)
            return
        self.stop_signal = signum

    def stop_all(self) -> None:
        for service in reversed(self.services):
            service.stop()

    def wait_until_answers(self, service: Service) -> int | None:
        """Wait for service to answer. Return an exit code to finish with, or None if ready."""
        deadline = time.monotonic() + self.timeout
        while True:
            if self.stop_signal is not None:
                return 0
            code = self.dead_service_exit()
            if code is not None:
                return code
            if service.answers():
                say(f"{service.label} answers on {service.url}")
                return None
            if time.monotonic() > deadline:
                say(
                    f"{service.label} did not answer on {service.url} within "
                    f"{self.timeout:.0f}s (is it listening on port {service.port}?)"
                )
                service.print_tail()
                return 1
            time.sleep(0.5)

    def dead_service_exit(self) -> int | None:
        for service in self.services:
            code = service.returncode()
            if code is not None:
                say(f"{service.label} (python -m {service.module}) exited with status {code}")
                service._join_pump()  # so the tail has its last words
                service.print_tail()
                return code if code > 0 else 1
        return None

    def run(self, env: dict[str, str]) -> int:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        try:
            for service in self.services:
                say(f"starting {service.label}: python -m {service.module} (port {service.port})")
                service.start(env)
                code = self.wait_until_answers(service)
                if code is not None:
                    return code
            gateway = self.services[-1]
            say(f"all up. Open {gateway.url}   (Ctrl-C stops everything)")
            while self.stop_signal is None:
                code = self.dead_service_exit()
                if code is not None:
                    return code
                time.sleep(0.5)
            return 0
        finally:
            if self.stop_signal is not None:
                say(f"got {signal.Signals(self.stop_signal).name}; stopping")
            self.stop_all()


def main() -> int:
    space_port = port_from_env("MODEL_SPACE_PORT", 7860)
    gateway_port = port_from_env("GATEWAY_PORT", 8000)
    if space_port == gateway_port:
        raise SystemExit(f"run_local: MODEL_SPACE_PORT and GATEWAY_PORT are both {space_port}")
    timeout = float(os.environ.get("RUN_LOCAL_STARTUP_TIMEOUT", "300"))

    services = [
        Service("space", "model_space", space_port),
        Service("gateway", "api_gateway", gateway_port),
    ]
    problems = []
    for service in services:
        reason = missing_module_reason(service.module)
        if reason:
            problems.append(f"cannot start the {service.label}: {reason}")
        elif port_in_use(service.port):
            problems.append(
                f"port {service.port} on {HOST} is already in use; stop what holds it or set "
                f"{'MODEL_SPACE_PORT' if service is services[0] else 'GATEWAY_PORT'}"
            )
    if problems:
        for problem in problems:
            print(f"run_local: error: {problem}", file=sys.stderr)
        return 2

    env = dict(os.environ)
    # Both services read their settings from the environment (MODEL_SPACE_*, GATEWAY_*).
    env.update(
        MODEL_SPACE_PORT=str(space_port),
        GATEWAY_PORT=str(gateway_port),
        PYTHONUNBUFFERED="1",
    )
    env.setdefault("GATEWAY_SPACE_URL", services[0].url)
    return Launcher(services, timeout).run(env)


if __name__ == "__main__":
    sys.exit(main())
