"""A killed run takes its worker processes with it (pipeline.evaluate.workers)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.shared import ROOT

#: The run: a pool of two workers that would sleep for a minute; it prints their pids, then waits to be killed.
RUN = """
import os, time
from pipeline.evaluate.workers import process_pool
with process_pool(2) as pool:
    futures = [pool.submit(time.sleep, 60) for _ in range(2)]
    time.sleep(1)
    print(*[p.pid for p in pool._processes.values()], flush=True)
    time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has ended: only its exit status is left
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_workers_exit_when_their_run_is_killed():
    run = subprocess.Popen([sys.executable, "-c", RUN], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    workers = [int(pid) for pid in run.stdout.readline().split()]
    assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    run.send_signal(signal.SIGKILL)  # no shutdown, no atexit: as a stopped dvc repro leaves it
    run.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)
