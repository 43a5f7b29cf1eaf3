"""Progress of a long application: tqdm when installed, else a stderr line."""

import sys
import time

from ..utils._optional import import_optional

__all__ = ["make_progress"]

_AUTO_DELAY = 2.0  # seconds before an "auto" progress bar shows up


class _NoProgress:
    def update(self, n):
        pass

    def close(self):
        pass


class _StderrProgress:
    """Minimal progress line on stderr, shown after ``delay`` seconds."""

    def __init__(self, total, desc, delay, interval=0.5, file=None):
        self.total = total
        self.desc = desc
        self.delay = delay
        self.interval = interval
        self.file = sys.stderr if file is None else file
        self.done = 0
        self.started = time.monotonic()
        self.last = None

    def _write(self, end=""):
        pct = 100.0 * self.done / self.total if self.total else 100.0
        self.file.write(
            f"\r{self.desc}: {self.done}/{self.total} records ({pct:.0f}%){end}"
        )
        self.file.flush()

    def update(self, n):
        self.done += n
        now = time.monotonic()
        if now - self.started < self.delay:
            return
        if self.last is None or now - self.last >= self.interval:
            self.last = now
            self._write()

    def close(self):
        if self.last is not None:
            self._write(end="\n")


def make_progress(total, progress_bar, desc="Applying labeling functions"):
    if progress_bar is False or total == 0:
        return _NoProgress()
    delay = _AUTO_DELAY if progress_bar == "auto" else 0.0
    tqdm = import_optional("tqdm", "LFApplier", required=False)
    if tqdm is None:
        return _StderrProgress(total, desc, delay)
    return tqdm.tqdm(total=total, desc=desc, unit="rec", delay=delay, file=sys.stderr)
