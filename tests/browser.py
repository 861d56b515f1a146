"""Open a local HTML file in headless Chromium and report what a reader would see.

A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (standard library
only): the browser reads commands from its fd 3 and writes replies and events to its fd 4,
each message one JSON object terminated by a NUL byte.

    from tests.browser import check_page, find_chromium
    report = check_page("report.html", "report.png", selector="figure")
    # {"title", "errors", "images", "images_loaded", "selected", "screenshot", "width", "height"}

Errors collected: ``console.error`` calls (Runtime.consoleAPICalled of type error/assert),
uncaught exceptions (Runtime.exceptionThrown), Log entries of level error (e.g. failed
resource loads) and a failed navigation.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["BrowserError", "BrowserTimeout", "check_page", "find_chromium"]

#: Flags for a headless run as root on a machine without network access.
FLAGS = (
    "--headless",
    "--no-sandbox",  # required as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)

#: Viewport the page is laid out in; the screenshot covers the full content height.
VIEWPORT = (1280, 800)
#: Screenshots taller than this are cut (Chromium fails on very tall captures).
MAX_SCREENSHOT_HEIGHT = 16384

# A tiny Python process started in the browser's place: it moves the two pipe ends to fds 3 and
# 4, where --remote-debugging-pipe expects them, then execs the browser under the same pid
# (subprocess's pass_fds keeps fd numbers as they are, and a preexec_fn is unsafe with threads).
_TRAMPOLINE = (
    "import fcntl,os,sys\n"
    "a,b=(int(x) for x in sys.argv[1:3])\n"
    "r,w=(fcntl.fcntl(f,fcntl.F_DUPFD_CLOEXEC,10) for f in (a,b))\n"  # above 4, gone at exec
    "os.dup2(r,3);os.dup2(w,4)\n"  # dup2 clears close-on-exec on 3 and 4
    "[os.close(f) for f in {a,b}-{3,4}]\n"
    "os.execv(sys.argv[3],sys.argv[3:])\n"
)


class BrowserError(RuntimeError):
    """The browser failed to start, died, or answered a command with an error."""


class BrowserTimeout(BrowserError, TimeoutError):
    """The page check did not finish within its time limit."""


def find_chromium() -> str | None:
    """The Chromium executable: $CHROMIUM, else chromium, chromium-browser or google-chrome on PATH."""
    env = os.environ.get("CHROMIUM")
    if env:
        return shutil.which(env) or (env if os.access(env, os.X_OK) else None)
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise BrowserError("screenshot is not a PNG")
    return struct.unpack(">II", data[16:24])


def _remote_value(arg: dict) -> str:
    if "value" in arg:
        value = arg["value"]
        return value if isinstance(value, str) else json.dumps(value)
    return str(arg.get("description", arg.get("unserializableValue", arg.get("type", "?"))))


def _where(url: str | None, line: int | None) -> str:
    if not url:
        return ""
    if url.startswith("data:") and len(url) > 60:
        url = url[:57] + "..."
    return f" ({url}:{line + 1})" if line is not None else f" ({url})"


class _Browser:
    """One Chromium process and its DevTools pipe; use as a context manager."""

    def __init__(self, executable: str, deadline: float):
        self.deadline = deadline
        self.phase = "starting the browser"
        self.errors: list[str] = []
        self.events: list[dict] = []
        self.load_fired = False
        self._next_id = 0
        self._buffer = b""
        self._profile = tempfile.mkdtemp(prefix="chromium-check-page-")
        self._stderr = open(os.path.join(self._profile, "stderr.log"), "w+b")  # noqa: SIM115 (closed in close())
        cmd_r, self._cmd_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-S", "-c", _TRAMPOLINE, str(cmd_r), str(resp_w), executable,
                 *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr,
                pass_fds=(cmd_r, resp_w), start_new_session=True,
            )
        except BaseException:
            for fd in (self._cmd_w, self._resp_r):
                os.close(fd)
            self._stderr.close()
            shutil.rmtree(self._profile, ignore_errors=True)
            raise
        finally:  # the browser holds these ends now; closing ours lets EOF report its death
            os.close(cmd_r)
            os.close(resp_w)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def stderr_tail(self, n: int = 2000) -> str:
        try:
            self._stderr.flush()
            self._stderr.seek(0)
            text = self._stderr.read().decode(errors="replace")
        except (OSError, ValueError):
            return ""
        return text[-n:].strip()

    def _fail(self, message: str, cls=BrowserError):
        tail = self.stderr_tail()
        raise cls(f"{message}" + (f"\n--- browser stderr (tail) ---\n{tail}" if tail else ""))

    # -- protocol --------------------------------------------------------------------------
    def send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self._cmd_w, data):]
        except (BrokenPipeError, OSError) as exc:
            self._fail(f"browser closed its command pipe while {self.phase}: {exc}")
        return self._next_id

    def _read_message(self) -> dict:
        while b"\0" not in self._buffer:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self._fail(f"timed out while {self.phase}", BrowserTimeout)
            ready, _, _ = select.select([self._resp_r], [], [], min(remaining, 0.5))
            if not ready:
                if self.proc.poll() is not None:
                    self._fail(f"browser exited with code {self.proc.returncode} while {self.phase}")
                continue
            chunk = os.read(self._resp_r, 1 << 20)
            if not chunk:
                self._fail(f"browser closed its reply pipe while {self.phase}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def _handle_event(self, message: dict) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(_remote_value(a) for a in params.get("args", []))
            frame = (params.get("stackTrace") or {}).get("callFrames") or [{}]
            self.errors.append(f"console.{params['type']}: {text}"
                               + _where(frame[0].get("url"), frame[0].get("lineNumber")))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = (details.get("exception") or {}).get("description") or details.get("text", "")
            self.errors.append(f"uncaught exception: {text}"
                               + _where(details.get("url"), details.get("lineNumber")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.errors.append(f"log ({entry.get('source')}): {entry.get('text')}"
                               + _where(entry.get("url"), entry.get("lineNumber")))
        elif method == "Page.loadEventFired":
            self.load_fired = True
        self.events.append(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send a command and return its result, handling the events that arrive meanwhile."""
        wanted = self.send(method, params, session)
        while True:
            message = self._read_message()
            if message.get("id") == wanted:
                if "error" in message:
                    self._fail(f"{method} failed: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self._handle_event(message)

    def pump(self, until: float, stop=lambda: False) -> None:
        """Handle events until ``stop()`` holds or the monotonic time ``until`` is reached."""
        while not stop():
            remaining = min(until, self.deadline) - time.monotonic()
            if remaining <= 0:
                if until > self.deadline:
                    self._fail(f"timed out while {self.phase}", BrowserTimeout)
                return
            if b"\0" not in self._buffer:
                ready, _, _ = select.select([self._resp_r], [], [], min(remaining, 0.5))
                if not ready:
                    continue
            message = self._read_message()
            if "method" in message:
                self._handle_event(message)

    # -- shutdown --------------------------------------------------------------------------
    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                try:
                    self.send("Browser.close")
                except BrowserError:
                    pass
                end = time.monotonic() + 5
                try:  # wait without reaping: the group id stays ours until the leader is reaped
                    while time.monotonic() < end and os.waitid(
                            os.P_PID, self.proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is None:
                        time.sleep(0.02)
                except ChildProcessError:
                    pass
            try:  # renderer, GPU and zygote processes share the browser's process group
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
        finally:
            for fd in (self._cmd_w, self._resp_r):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._stderr.close()
            shutil.rmtree(self._profile, ignore_errors=True)


_DOM_CHECK = """(() => {
  const imgs = Array.from(document.images);
  return {
    title: document.title,
    images: imgs.length,
    images_loaded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    selected: SELECTOR === null ? null : document.querySelectorAll(SELECTOR).length,
  };
})()"""


def check_page(html_path, screenshot_path, selector: str | None = "figure", timeout: float = 60,
               settle: float = 0.3, chromium: str | None = None) -> dict:
    """Load ``html_path`` in headless Chromium, save a full-page PNG and report on the page.

    Returns a dict: ``title``; ``errors`` (list of strings: console.error calls, uncaught
    exceptions, error-level log entries such as failed resource loads, a failed navigation);
    ``images`` (number of ``<img>``) and ``images_loaded`` (how many decoded, naturalWidth > 0);
    ``selected`` (elements matching ``selector``, None without one); ``screenshot`` (the PNG's
    path) with its pixel ``width`` and ``height``.  Raises BrowserTimeout after ``timeout``
    seconds overall, BrowserError if the browser fails, FileNotFoundError without a browser or
    page.  ``settle``: seconds to keep collecting events after the load event.
    """
    start = time.monotonic()
    html = Path(html_path).resolve()
    if not html.is_file():
        raise FileNotFoundError(f"no such page: {html}")
    executable = chromium or find_chromium()
    if executable is None:
        raise FileNotFoundError("no Chromium found (set CHROMIUM or install chromium)")
    screenshot = Path(screenshot_path)

    with _Browser(executable, start + timeout) as b:
        b.phase = "creating a page"
        target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        b.phase = "enabling domains"
        for domain in ("Page", "Runtime", "Log"):
            b.call(f"{domain}.enable", session=session)
        b.call("Emulation.setDeviceMetricsOverride", {"width": VIEWPORT[0], "height": VIEWPORT[1],
               "deviceScaleFactor": 1, "mobile": False}, session=session)

        b.phase = f"loading {html.as_uri()}"
        b.load_fired = False
        nav = b.call("Page.navigate", {"url": html.as_uri()}, session=session)
        if nav.get("errorText"):
            b.errors.append(f"navigation failed: {nav['errorText']}")
        else:
            b.pump(float("inf"), lambda: b.load_fired)
            b.phase = "settling after the load event"
            b.pump(time.monotonic() + settle)

        b.phase = "inspecting the DOM"
        expression = _DOM_CHECK.replace("SELECTOR", json.dumps(selector))
        result = b.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                        session=session)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = (details.get("exception") or {}).get("description") or details.get("text")
            raise ValueError(f"DOM check failed (selector {selector!r}?): {text}")
        dom = result["result"]["value"]

        b.phase = "taking the screenshot"
        metrics = b.call("Page.getLayoutMetrics", session=session)
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        width = max(1, int(-(-size["width"] // 1)))
        height = min(MAX_SCREENSHOT_HEIGHT, max(1, int(-(-size["height"] // 1))))
        shot = b.call("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True, "fromSurface": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        }, session=session)
        png = base64.b64decode(shot["data"])
        errors = list(b.errors)

    screenshot.parent.mkdir(parents=True, exist_ok=True)
    screenshot.write_bytes(png)
    png_width, png_height = _png_size(png)
    return {
        "title": dom["title"],
        "errors": errors,
        "images": dom["images"],
        "images_loaded": dom["images_loaded"],
        "selected": dom["selected"],
        "screenshot": str(screenshot),
        "width": png_width,
        "height": png_height,
    }


if __name__ == "__main__":  # python tests/browser.py page.html out.png [selector]
    t0 = time.monotonic()
    report = check_page(sys.argv[1], sys.argv[2], *sys.argv[3:4])
    print(json.dumps(report, indent=2))
    print(f"{time.monotonic() - t0:.2f} s", file=sys.stderr)
