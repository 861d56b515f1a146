"""Progress of a run on a terminal (one status line, rewritten in place, plus a line per finished trial)
or, when not attached to one, plain lines suitable for a log (a line per finished trial and a summary
line every ``log_every`` seconds)."""

from __future__ import annotations

import math
import shutil
import sys
import time

__all__ = ["Progress", "duration"]


def duration(sec: float | None) -> str:
    if sec is None or not math.isfinite(sec):
        return "?"
    if sec < 90:
        return f"{sec:.0f} s"
    if sec < 5400:
        return f"{sec / 60:.0f} min"
    return f"{sec / 3600:.1f} h"


class Progress:
    def __init__(self, stream=None, tty: bool | None = None, log_every: float = 30.0):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.every = 0.5 if self.tty else log_every
        self.last = -math.inf
        self.labels: dict = {}
        self.live: dict = {}        # id -> [sequences, seconds, stage, seconds at segment start, wall start]
        self.n_done = self.n_left = self.n_total = 0
        self.durations: list = []   # compute seconds of trials finished in this run
        self.capacity = 1
        self._dirty = False

    # -- events from the runner ---------------------------------------------------------------

    def start(self, records: dict, todo: list, summary) -> None:
        self.labels = {i: r["label"] or f"trial {i}" for i, r in records.items()}
        self.n_total = len(records)
        self.n_done = len(summary.skipped)
        self.n_left = len(todo)
        msg = f"{self.n_total} trial(s): {self.n_done} already in the store, {self.n_left} to run"
        if summary.elsewhere:
            msg += f", {len(summary.elsewhere)} being run by another process (left to it)"
        self._line(msg)

    def workers(self, n: int, kind: str, group_size: int = 1) -> None:
        """``n``: how many trials (or groups of up to ``group_size`` trials) run at a time (worker processes,
        or the Dask cluster's threads)."""
        self.capacity = max(1, n)
        if self.n_left:
            self._line(f"running {n} trial(s) at a time ({kind})" if group_size <= 1 else
                       f"running {n} group(s) of up to {group_size} trials at a time ({kind})")
        if not self.tty:
            self.last = time.monotonic()    # a log's first status line once the trials run, not as they start

    def running(self, i: int, sequences: int, seconds: float) -> None:
        if i not in self.live:
            self.n_left -= 1
            if sequences:
                self._line(f"{self.labels.get(i, i)}: resuming from its checkpoint at {sequences:,} sequences")
        self.live[i] = [sequences, seconds, "", seconds, time.monotonic()]
        self._show()

    def update(self, msg: tuple) -> None:
        i, sequences, seconds, stage = msg
        if i in self.live:
            self.live[i][:3] = [sequences, seconds, stage]
        self._show()

    def finished(self, i: int, result: dict, seconds: float) -> None:
        self.live.pop(i, None)
        self.n_done += 1
        self.durations.append(seconds)
        self._line(f"{self.labels.get(i, i)}: {result.get('status')} after {result.get('sequences', 0):,} "
                   f"sequences ({duration(seconds)})")

    def elsewhere(self, i: int) -> None:
        """Trial ``i`` is (now) run by another process: no longer ours to run."""
        if self.live.pop(i, None) is None:
            self.n_left -= 1
        else:
            self._line(f"{self.labels.get(i, i)}: taken over by another process")

    def failed(self, i: int, message: str) -> None:
        self.live.pop(i, None)
        self._line(f"{self.labels.get(i, i)}: FAILED: {message}")

    def paused(self, i: int, sequences: int) -> None:
        self.live.pop(i, None)
        self._line(f"{self.labels.get(i, i)}: checkpoint saved at {sequences:,} sequences")

    def message(self, text: str) -> None:
        self._line(text)

    def close(self, summary) -> None:
        self._clear()

    # -- drawing ---------------------------------------------------------------------------------

    def eta(self) -> float | None:
        """Seconds until every trial is done, from the mean time of trials finished in this run."""
        if not self.durations:
            return None
        mean = sum(self.durations) / len(self.durations)
        work = mean * self.n_left + sum(max(mean - v[1], 0.0) for v in self.live.values())
        return work / self.capacity

    def status_text(self) -> str:
        eta = self.eta()
        parts = [f"trials {self.n_done} done / {len(self.live)} running / {self.n_left} left"]
        for i, (seq, sec, stage, sec0, wall0) in list(self.live.items())[:4]:
            rate = seq / sec if sec > 0 else 0.0
            parts.append(f"{self.labels.get(i, i)}: {seq:,} seq, {rate:,.0f}/s")
        if len(self.live) > 4:
            parts.append(f"+{len(self.live) - 4} more")
        parts.append("ETA " + (duration(eta) if eta is not None else "after the first trial ends"))
        return " | ".join(parts)

    def _show(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return
        self.last = now
        if self.tty:
            # one terminal row: a wrapped line could not be rewritten in place (\r goes back one row only)
            width = shutil.get_terminal_size((100, 24)).columns - 1
            self._write("\r\033[K" + self.status_text()[:max(width, 20)])
            self._dirty = True
        else:
            self._write(self.status_text() + "\n")

    def _clear(self) -> None:
        if self.tty and self._dirty:
            self._write("\r\033[K")
            self._dirty = False

    def _line(self, text: str) -> None:
        self._clear()
        self._write(text + "\n")

    def _write(self, text: str) -> None:
        """Progress is best effort: a stream that cannot be written (a closed pipe, a full disk) silences
        it; the run goes on."""
        if self.stream is None:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self.stream = None
