"""Running child processes and measuring them: wall time, peak RSS (wait4), temp disk.

A *step* is what one tool does for one workload: one or more commands run one after the
other (e.g. analyzer then exporter), or a shell pipeline.  Wall time covers the whole step;
peak RSS is the largest ``ru_maxrss`` of its processes (``wait4`` reports a child's own peak
and that of the descendants it reaped); temp disk is the largest size seen of a scratch
directory, sampled by a thread while the step runs.
"""

import os
import statistics
import subprocess
import tempfile
import threading
import time

# ``ru_maxrss`` of a child exec'd from this Python process starts at Python's own high-water
# mark (exec records the old mm's peak, and a vfork child shares our mm), so every child is
# started through GNU time, a small process whose own children's peak is their own.
GNU_TIME = "/usr/bin/time"


def _timed(argv):
    """(argv wrapped in GNU time, path of the file it writes the peak RSS in kB to)."""
    if not os.access(GNU_TIME, os.X_OK):
        return list(argv), None
    fd, path = tempfile.mkstemp(prefix="cnb-bench-rss-")
    os.close(fd)
    return [GNU_TIME, "-f", "%M %U %S", "-o", path] + list(argv), path


def _usage(path, ru):
    """(peak RSS kB, user + system CPU seconds) from GNU time's file, else from ``ru``."""
    fallback = (ru.ru_maxrss, ru.ru_utime + ru.ru_stime)
    if not path:
        return fallback
    try:
        with open(path) as f:
            lines = [l.strip() for l in f if l.strip()]
        os.unlink(path)
        rss, user, sys_ = lines[-1].split()
        return int(rss), float(user) + float(sys_)
    except (OSError, ValueError, IndexError):
        return fallback


class StepFailed(Exception):
    """A command of a step exited non-zero."""


class Proc:
    """One finished child process."""

    def __init__(self, argv, code, wall, maxrss_kb, output, cpu_s=0.0):
        self.argv = argv
        self.code = code
        self.wall = wall
        self.maxrss_kb = maxrss_kb
        self.output = output
        self.cpu_s = cpu_s


def dir_bytes(path):
    """Bytes allocated on disk under ``path`` (st_blocks), 0 when it does not exist."""
    total = 0
    try:
        st = os.lstat(path)
    except OSError:
        return 0
    total += st.st_blocks * 512
    stack = [path]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                for e in it:
                    try:
                        st = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    total += st.st_blocks * 512
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
        except OSError:
            continue
    return total


class DiskSampler:
    """Samples the size of some directories every ``interval`` seconds; keeps the peak of
    their sum above the size they had when sampling started."""

    def __init__(self, dirs, interval=0.1):
        self.dirs = [d for d in dirs if d]
        self.interval = interval
        self.base = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread = None

    def _size(self):
        return sum(dir_bytes(d) for d in self.dirs)

    def __enter__(self):
        self.base = self._size()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def _loop(self):
        while not self._stop.wait(self.interval):
            self._take()

    def _take(self):
        self.peak = max(self.peak, self._size() - self.base)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._take()
        return False

    @property
    def peak_bytes(self):
        return max(0, self.peak)


def run(argv, env=None, cwd=None, log=None, stdin=None):
    """Runs one command to completion; stdout+stderr go to ``log`` (a path) or are kept."""
    out = open(log, "ab") if log else subprocess.PIPE
    wrapped, rss_file = _timed(argv)
    start = time.monotonic()
    try:
        p = subprocess.Popen(
            wrapped,
            env=env,
            cwd=cwd,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        data = b""
        if out is subprocess.PIPE:
            data = p.stdout.read()
            p.stdout.close()
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if log:
            out.close()
    wall = time.monotonic() - start
    if log:
        with open(log, "rb") as f:
            f.seek(max(0, os.path.getsize(log) - 20000))
            data = f.read()
    rss, cpu = _usage(rss_file, ru)
    return Proc(argv, p.returncode, wall, rss, data.decode("utf-8", "replace"), cpu)


def pipeline(cmds, env=None, cwd=None, stdout_path=os.devnull):
    """Runs ``cmds`` (argv lists) as a shell-free pipeline; the last writes to ``stdout_path``.
    Returns a Proc whose code is the first non-zero exit code and maxrss the largest."""
    start = time.monotonic()
    procs = []
    prev = subprocess.DEVNULL
    sink = open(stdout_path, "wb")
    errs = []
    try:
        for i, argv in enumerate(cmds):
            last = i == len(cmds) - 1
            wrapped, rss_file = _timed(argv)
            p = subprocess.Popen(
                wrapped,
                env=env,
                cwd=cwd,
                stdin=prev,
                stdout=sink if last else subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            if prev is not subprocess.DEVNULL:
                prev.close()
            prev = p.stdout if not last else None
            p.rss_file = rss_file
            procs.append(p)
        code = 0
        rss = 0
        cpu = 0.0
        for p in procs:
            err = p.stderr.read()
            p.stderr.close()
            _, status, ru = os.wait4(p.pid, 0)
            c = os.waitstatus_to_exitcode(status)
            p.returncode = c
            r, c2 = _usage(p.rss_file, ru)
            rss = max(rss, r)
            cpu += c2
            if c != 0 and code == 0:
                code = c
                errs.append(err.decode("utf-8", "replace"))
    finally:
        sink.close()
    wall = time.monotonic() - start
    return Proc(cmds, code, wall, rss, "".join(errs), cpu)


class Step:
    """Accumulates the processes of one step (one tool, one workload, one run)."""

    def __init__(self, scratch_dirs=(), log=None):
        self.procs = []
        self.log = log
        self.sampler = DiskSampler(scratch_dirs)
        self.start = None
        self.wall = None

    def __enter__(self):
        self.sampler.__enter__()
        self.start = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.wall = time.monotonic() - self.start
        self.sampler.__exit__(*exc)
        return False

    def run(self, argv, **kw):
        kw.setdefault("log", self.log)
        p = run(argv, **kw)
        self.procs.append(p)
        if p.code != 0:
            raise StepFailed(
                f"{' '.join(map(str, argv[:3]))}… exited {p.code}:\n{p.output[-3000:]}"
            )
        return p

    def pipe(self, cmds, **kw):
        p = pipeline(cmds, **kw)
        self.procs.append(p)
        if p.code != 0:
            raise StepFailed(f"{cmds} exited {p.code}: {p.output[-2000:]}")
        return p

    @property
    def maxrss_kb(self):
        return max((p.maxrss_kb for p in self.procs), default=0)

    @property
    def cpu_s(self):
        """User + system CPU seconds of all the step's processes."""
        return sum(p.cpu_s for p in self.procs)

    @property
    def tmp_bytes(self):
        return self.sampler.peak_bytes


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def loadavg():
    return list(os.getloadavg())
