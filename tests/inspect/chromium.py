"""Drive a headless Chromium over the DevTools protocol through a pipe: no Python package, no port.

Chromium started with `--remote-debugging-pipe` reads protocol commands (JSON, each ended by a NUL
byte) on its file descriptor 3 and writes answers and events on descriptor 4. The standard library
is enough for that, so the browser test needs only the browser (Debian: `apt-get install chromium`),
not selenium or a websocket client, and never opens a network port.
"""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TRAMPOLINE = """
import os, sys
commands, answers = int(sys.argv[1]), int(sys.argv[2])
os.dup2(commands, 3)
os.dup2(answers, 4)
for descriptor in {commands, answers} - {3, 4}:
    os.close(descriptor)
os.execvp(sys.argv[3], sys.argv[3:])
"""
NAMES = ("chromium", "chromium-browser", "chromium-headless-shell", "google-chrome", "google-chrome-stable")


def find_browser():
    """The Chromium executable: $KERAS_VIT_CHROMIUM, else the first of `NAMES` on the PATH, else None."""
    return os.environ.get("KERAS_VIT_CHROMIUM") or next(filter(None, map(shutil.which, NAMES)), None)


class Browser:
    """A headless Chromium; `page(url)` opens a tab and returns a `Page`. Use as a context manager."""

    def __init__(self, executable, timeout=30.0):
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory()
        commands_read, self._commands = os.pipe()
        self._answers, answers_write = os.pipe()
        arguments = ["--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run",
                     "--no-default-browser-check", "--disable-extensions", "--mute-audio",
                     f"--user-data-dir={self._profile.name}", "about:blank"]  # fmt: skip
        # A short Python process moves the pipe ends to descriptors 3 and 4, then becomes the browser: a
        # preexec_fn is unsafe in a process with threads (pytest's timeout thread), and POSIX sh redirects
        # only single-digit descriptors.
        self.process = subprocess.Popen(
            [sys.executable, "-c", TRAMPOLINE, str(commands_read), str(answers_write), executable, *arguments],
            pass_fds=(commands_read, answers_write), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # a process group of its own: `close` ends its renderers and helpers too
        )  # fmt: skip
        os.close(commands_read)
        os.close(answers_write)
        self._buffer, self._next_id, self.events = b"", 0, []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        # Chromium's helper processes outlive the browser process for a moment and may still be writing to the
        # profile while it is removed ("Directory not empty"): the whole group is ended, then killed.
        for signal_number in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, signal_number)
            except ProcessLookupError:
                break
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                continue
            time.sleep(0.2)  # the helpers end with the group's signal, just after the browser process
        for descriptor in (self._commands, self._answers):
            try:
                os.close(descriptor)
            except OSError:
                pass
        self._profile.cleanup()

    def _message(self, deadline):
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._answers], [], [], remaining)[0]:
                raise TimeoutError("Chromium did not answer in time.")
            chunk = os.read(self._answers, 1 << 16)
            if not chunk:
                raise RuntimeError(f"Chromium closed its DevTools pipe (exit status {self.process.poll()}).")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def send(self, method, params=None, session=None):
        """Run one protocol command and return its result; events that arrive meanwhile go to `events`."""
        self._next_id += 1
        command = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            command["sessionId"] = session
        os.write(self._commands, json.dumps(command).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method} failed: {message['error']}")
                return message["result"]
            self.events.append(message)

    def wait_for(self, event, session, timeout=None):
        """Wait until `event` (a method name) arrives for `session`; returns its params."""
        deadline = time.monotonic() + (timeout or self.timeout)
        for index, message in enumerate(self.events):
            if message.get("method") == event and message.get("sessionId") == session:
                return self.events.pop(index)["params"]
        while True:
            message = self._message(deadline)
            if message.get("method") == event and message.get("sessionId") == session:
                return message["params"]
            self.events.append(message)

    def page(self, url, width=1200, height=900):
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for domain in ("Page", "Runtime", "Log"):
            page.send(f"{domain}.enable")
        page.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})  # fmt: skip
        page.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired", session)
        return page


class Page:
    """One tab: `evaluate` JavaScript, `click` at page coordinates, read the `errors` it reported."""

    def __init__(self, browser, session):
        self.browser, self.session = browser, session

    def send(self, method, params=None):
        return self.browser.send(method, params, self.session)

    def evaluate(self, expression):
        """The value of a JavaScript expression (JSON-serializable), or an error with the exception."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript error in {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, x, y):
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent",
                      {"type": kind, "x": x, "y": y, "button": "left" if kind != "mouseMoved" else "none",
                       "clickCount": 0 if kind == "mouseMoved" else 1})  # fmt: skip

    def errors(self):
        """Uncaught exceptions, console.error/assert calls and error log entries of this page so far."""
        self.evaluate("0")  # a round trip: events sent before it have arrived
        found = []
        for message in self.browser.events:
            if message.get("sessionId") != self.session:
                continue
            method, params = message.get("method"), message.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(params["exceptionDetails"])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(params)
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(params["entry"])
        return found
