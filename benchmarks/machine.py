"""Machine facts both benchmarks print: peak RSS, the core to pin to, load, revision."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _peak_rss_mb() -> float:
    """This process's peak resident set size since it started, in MB.

    Linux: `VmHWM` from /proc/self/status. Not `ru_maxrss`: Linux carries that over
    `execve`, and Python's subprocess spawns with vfork, so a child's `ru_maxrss`
    starts at the parent's peak. Elsewhere `ru_maxrss` is the best there is.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return _ru_maxrss_mb()


def _default_cpu() -> int | None:
    if not hasattr(os, "sched_getaffinity"):
        return None
    return max(os.sched_getaffinity(0))


def _load() -> str:
    if not hasattr(os, "getloadavg"):
        return "unknown"
    return " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1 / 5 / 15 min)"


def _git_revision(checkout: Path = ROOT) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=checkout
    )
    if done.returncode != 0:
        return "unknown"
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "skill"],
        capture_output=True,
        text=True,
        cwd=checkout,
    )
    return done.stdout.strip() + (" (skill/ modified)" if dirty.stdout.strip() else "")


def _ru_maxrss_mb() -> float:
    import resource

    # Linux reports kilobytes; macOS reports bytes.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


class CountingSink:
    """A text sink that keeps nothing: counts lines and characters written.

    Like stdout it has a UTF-8 binary `buffer` under it (counted with it, a byte as a
    character), which the jsonl path writes its lines to as the CLI's would be.
    """

    encoding = "utf-8"
    line_buffering = False

    def __init__(self) -> None:
        self.lines = 0
        self.chars = 0
        self.buffer = _CountingBytes(self)

    def write(self, text: str) -> int:
        # `str.find` jumps from line to line; `str.count` reads every character, which
        # cost about 5 µs per account of JSON: a sink's cost is not the tool's.
        find, at, lines = text.find, text.find("\n"), 0
        while at >= 0:
            lines += 1
            at = find("\n", at + 1)
        self.lines += lines
        self.chars += len(text)
        return len(text)

    def flush(self) -> None:
        pass


class _CountingBytes:
    """The binary stream under a `CountingSink`: adds to its counts."""

    def __init__(self, sink: CountingSink) -> None:
        self.sink = sink

    def write(self, data: bytes | memoryview) -> int:
        if type(data) is memoryview:  # lines in shared memory: copied, as a real sink would
            data = data.tobytes()
        find, at, lines = data.find, data.find(b"\n"), 0  # as CountingSink.write
        while at >= 0:
            lines += 1
            at = find(b"\n", at + 1)
        self.sink.lines += lines
        self.sink.chars += len(data)
        return len(data)

    def flush(self) -> None:
        pass
