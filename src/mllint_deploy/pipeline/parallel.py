"""The per-file phase of a run: cache look-ups, then the remaining files in worker processes.

`lint_files` returns one `FileResult` per input file, in input order, whatever the number of
workers, so the report is byte-identical to a sequential run.

- Cache: the main process reads each file, computes its key and unpickles a hit (see cache.py);
  only the misses are linted. A warm run is reads, hashes and unpickles.
- Workers (`--jobs N`, default: the CPUs this process may use; 1 = in this process, no workers):
  each worker imports the package and builds the check instances once, then lints the files it is
  sent, largest first, and sends back the pickled result (the same bytes it stores in the cache).
  The main process knows which file each worker is on, so a worker that dies (a segfault or abort
  in the native parser, the kernel's OOM killer) loses that one file only: the file is reported as
  an internal error naming it and the signal, a new worker takes over, and the other files run.
- Stack: every file is linted on a thread with a large stack and a high recursion limit, so deep
  but valid code (long attribute chains, deeply nested expressions) is analysed instead of failing
  with RecursionError, and a deep recursion in native code has room.

Test-only hook: when the environment variable `MLLINT_DEPLOY_TEST_CRASH_ON` is set, a worker
process calls `os.abort()` on any file whose path contains its value (the tests simulate a native
crash with it). It has no effect on in-process linting (`--jobs 1`) and is not meant for users.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from mllint_deploy.fixes import seeds
from mllint_deploy.pipeline import cache as cache_mod
from mllint_deploy.pipeline.discovery import display_path
from mllint_deploy.pipeline.engine import FileResult, lint_path, module_name_for
from mllint_deploy.sources.source import UnreadableSource, read_bytes

CRASH_HOOK = "MLLINT_DEPLOY_TEST_CRASH_ON"
STACK_BYTES = 512 * 1024 * 1024  # virtual: only the pages a deep recursion touches are used
RECURSION_LIMIT = 30_000
_IN_FLIGHT = 2  # files queued per worker, so it never waits for the next one
_READY = b"ready"


def default_jobs() -> int:
    if hasattr(os, "process_cpu_count"):
        n = os.process_cpu_count()  # Python 3.13+
    elif hasattr(os, "sched_getaffinity"):
        n = len(os.sched_getaffinity(0))
    else:
        n = os.cpu_count()
    return max(1, n or 1)


@dataclass
class Task:
    index: int
    path: str
    display: str
    module_name: str
    facts_only: bool
    size: int = 0


# -- running on a big stack ----------------------------------------------------------------------
_limit_lock = threading.Lock()
_limit_users = 0
_limit_saved = 0


def _raise_limit() -> None:
    global _limit_users, _limit_saved
    with _limit_lock:
        if _limit_users == 0:
            _limit_saved = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_limit_saved, RECURSION_LIMIT))
        _limit_users += 1


def _restore_limit() -> None:
    """The limit is the interpreter's: the last big-stack thread to finish puts the old one back."""
    global _limit_users
    with _limit_lock:
        _limit_users -= 1
        if _limit_users == 0:
            sys.setrecursionlimit(_limit_saved)


def call_with_big_stack(fn, *args):
    """`fn(*args)` on a thread with a large stack and recursion limit (the caller waits for it)."""
    outcome: list = []

    def target():
        _raise_limit()
        try:
            outcome.append((True, fn(*args)))
        except BaseException as exc:  # handed to the caller's thread
            outcome.append((False, exc))
        finally:
            _restore_limit()

    try:
        previous = threading.stack_size(STACK_BYTES)
    except (ValueError, RuntimeError):  # the platform refuses: run on this thread
        return fn(*args)
    try:
        thread = threading.Thread(target=target, name="mllint-deploy-lint", daemon=True)
        thread.start()
    except (RuntimeError, MemoryError):
        thread = None
    finally:
        threading.stack_size(previous)
    if thread is None:
        return fn(*args)
    thread.join()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


# -- linting one file --------------------------------------------------------------------------
def _lint_task(task: Task, file_checks, project_checks, enabled, cache,
               pickled: bool = True) -> tuple[FileResult, bytes | None]:
    """The per-file phase for one file; whatever goes wrong becomes an internal error of that file.

    Returns the result and, when `pickled` (a worker sends it) or there is a cache, its pickle."""
    path = Path(task.path)
    try:
        try:
            data = read_bytes(task.path)
        except UnreadableSource:
            data = None  # lint_path reports it (MLD001)
        result = lint_path(path, task.display, [] if task.facts_only else file_checks, enabled, project_checks,
                           data=data, module_name=task.module_name)
    except BaseException as exc:  # a bug outside the per-check guards: lose this file, not the run
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        result = FileResult(path=task.display,
                            internal_errors=[f"{task.display}: per-file phase: {type(exc).__name__}: {reason}"])
        data = None
    payload = None
    if pickled or cache is not None:
        try:
            payload = cache_mod.dumps(result)
        except Exception as exc:  # a plugin's facts that cannot be pickled: report, never kill the worker
            result = FileResult(path=task.display, internal_errors=[
                f"{task.display}: per-file phase: result cannot be pickled: {type(exc).__name__}: {exc}"[:300]])
            payload = cache_mod.dumps(result)
            data = None
    if cache is not None and data is not None and not result.internal_errors:
        # keyed on the bytes actually linted (the file may have changed since the main process read it)
        cache.store(cache.key(data, task.display, str(path), task.module_name, task.facts_only), payload)
    return result, payload


def _lint_inline(tasks: list[Task], results: list, file_checks, project_checks, enabled, cache,
                 progress=None) -> None:
    def work():
        for task in tasks:
            results[task.index] = _lint_task(task, file_checks, project_checks, enabled, cache, pickled=False)[0]
            if progress is not None:
                progress.tick()

    call_with_big_stack(work)


# -- worker processes --------------------------------------------------------------------------
def _die_with(parent: int) -> None:
    """Linux: the kernel kills this worker when the main process dies, even mid-file (SIGKILL,
    OOM killer, a CI timeout): an orphan must not go on burning a CPU on a file nobody waits for."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        return
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(1)


def _worker_main(conn, enabled, cache, parent: int, inherited: tuple[int, ...] = (), fix_seed=None) -> None:
    """A worker: build the checks once, then lint each task it receives until told to stop.

    `inherited`: the main process's ends of the other workers' pipes, which a forked worker holds
    copies of; closed, so that each worker sees end-of-file when the main process goes away."""
    _die_with(parent)
    for fd in inherited:
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C and stops us
    except (ValueError, OSError):
        pass
    from mllint_deploy import registry

    seeds.configure(fix_seed)  # the run's configured seed, whatever the start method
    file_checks, project_checks = registry.checks_for(enabled)
    crash_on = os.environ.get(CRASH_HOOK) or None

    def serve():
        conn.send_bytes(_READY)
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                return
            if task is None:
                return
            if crash_on is not None and crash_on in task.path:
                import faulthandler

                faulthandler.disable()  # no traceback dump for a simulated crash
                os.abort()  # test-only: simulate a native crash on this file
            conn.send_bytes(_lint_task(task, file_checks, project_checks, enabled, cache)[1])

    call_with_big_stack(serve)
    conn.close()


def _context():
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")  # cheap start: the package is already imported
    return multiprocessing.get_context("spawn")


class _Worker:
    def __init__(self, ctx, enabled, cache, others: tuple[int, ...] = ()):
        self.conn, child = ctx.Pipe(duplex=True)
        inherited = others if ctx.get_start_method() == "fork" else ()
        self.proc = ctx.Process(target=_worker_main, args=(child, enabled, cache, os.getpid(), inherited,
                                                           seeds.configured_seed()),
                                daemon=True, name="mllint-deploy-worker")
        self.proc.start()
        child.close()
        self.in_flight: deque[Task] = deque()
        self.ready = False
        self.done = False

    def send(self, task: Task | None) -> None:
        self.conn.send(task)
        if task is not None:
            self.in_flight.append(task)

    def stop(self, kill: bool = False) -> None:
        if kill and self.proc.is_alive():
            self.proc.kill()
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=5)
        self.conn.close()


def _crash_reason(exitcode) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}"


def _lint_in_workers(tasks: list[Task], results: list, n_workers: int, enabled, cache, file_checks,
                     project_checks, progress=None) -> None:
    from multiprocessing.connection import wait

    ctx = _context()
    queue = deque(sorted(tasks, key=lambda t: -t.size))  # largest first: the workers finish together
    workers: list[_Worker] = []
    startup_failures = 0

    def feed(worker: _Worker) -> None:
        while queue and len(worker.in_flight) < _IN_FLIGHT:
            worker.send(queue.popleft())

    def start() -> None:
        others = tuple(w.conn.fileno() for w in workers if not w.done)
        worker = _Worker(ctx, enabled, cache, others)
        workers.append(worker)
        feed(worker)

    def lost(worker: _Worker) -> None:
        """The worker died: blame the file it was on, give the rest back to the queue."""
        nonlocal startup_failures
        worker.done = True
        worker.proc.join(timeout=5)
        reason = _crash_reason(worker.proc.exitcode)
        worker.stop(kill=True)
        if not worker.ready:
            startup_failures += 1  # it died before linting anything: no file is to blame
        elif worker.in_flight:
            culprit = worker.in_flight.popleft()
            results[culprit.index] = FileResult(path=culprit.display, internal_errors=[
                f"{culprit.display}: the worker process linting this file died ({reason}); the file was skipped"])
            if progress is not None:
                progress.tick()
        queue.extendleft(reversed(worker.in_flight))
        worker.in_flight.clear()
        if queue and startup_failures < 3:
            start()

    def receive(worker: _Worker) -> None:
        """Every complete message the worker has sent; then, if it has died, the loss."""
        while True:
            try:
                if not worker.conn.poll():
                    break
                payload = worker.conn.recv_bytes()
            except (EOFError, OSError):
                lost(worker)
                return
            if payload == _READY:
                worker.ready = True
                continue
            task = worker.in_flight.popleft()
            results[task.index] = pickle.loads(payload)  # our own worker's bytes
            if progress is not None:
                progress.tick()
            feed(worker)
        if not worker.proc.is_alive():
            lost(worker)

    try:
        for _ in range(min(n_workers, len(queue))):
            start()
        while True:
            busy = [w for w in workers if not w.done and w.in_flight]
            if not busy:
                break
            by_conn = {w.conn: w for w in busy}
            by_sentinel = {w.proc.sentinel: w for w in busy}
            for ready in wait([*by_conn, *by_sentinel]):
                worker = by_conn.get(ready) or by_sentinel.get(ready)
                if not worker.done:
                    receive(worker)
    except BaseException:
        for worker in workers:
            if not worker.done:
                worker.done = True
                worker.stop(kill=True)
        raise
    for worker in workers:
        if not worker.done:
            worker.done = True
            try:
                worker.send(None)
            except (OSError, ValueError):
                pass
            worker.stop()
    if queue:  # workers could not even start here: lint the rest in this process
        _lint_inline(list(queue), results, file_checks, project_checks, enabled, cache, progress)


# -- the phase ---------------------------------------------------------------------------------
def lint_files(files: list[tuple[Path, bool]], enabled: frozenset[str], settings, file_checks, project_checks,
               jobs: int = 0, use_cache: bool = True, progress=None) -> list[FileResult]:
    """The per-file phase for `files` ((path, facts only) pairs): one result per file, in order.
    `progress`, when given, has start(total) and tick() and hears of every file done."""
    if progress is not None:
        progress.start(len(files))
    cache = None
    if use_cache and files:
        cache = cache_mod.Cache.open(settings, enabled, [*file_checks, *project_checks])
    results: list = [None] * len(files)
    tasks: list[Task] = []
    for index, (path, facts_only) in enumerate(files):
        display = display_path(path)
        module_name = module_name_for(path)
        key = None
        size = 0
        if cache is not None:
            try:
                data = read_bytes(str(path))
            except UnreadableSource:
                data = None
            if data is not None:
                size = len(data)
                key = cache.key(data, display, str(path), module_name, facts_only)
                hit = cache.load(key, display)
                if hit is None and facts_only:  # a full entry has the facts too
                    hit = cache.load(cache.key(data, display, str(path), module_name, False), display)
                if hit is not None:
                    results[index] = hit
                    if progress is not None:
                        progress.tick()
                    continue
        else:
            try:
                size = os.stat(path).st_size
            except OSError:
                size = 0
        tasks.append(Task(index, str(path), display, module_name, facts_only, size))
    n_workers = min(jobs or default_jobs(), len(tasks))
    if not tasks:
        pass
    elif n_workers <= 1:
        _lint_inline(tasks, results, file_checks, project_checks, enabled, cache, progress)
    else:
        _lint_in_workers(tasks, results, n_workers, enabled, cache, file_checks, project_checks, progress)
    return results
