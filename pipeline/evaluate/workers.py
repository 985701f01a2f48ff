"""Worker processes for a stage's side-by-side work, which never outlive the run that started them.

A killed run (``kill``, a stopped ``dvc repro``) ends without shutting its process pool down, and
spawned workers are not in the killer's way: they kept training for minutes, holding the cores
the next run needed. Each worker here watches its parent and exits as soon as it is gone.
"""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

#: Seconds between two looks at the parent.
WATCH_EVERY = 0.5


def process_pool(jobs: int) -> ProcessPoolExecutor:
    """``jobs`` spawned workers (a fresh interpreter each: no torch state is inherited) tied to this process."""
    return ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), initializer=_follow, initargs=(os.getpid(),))


def _follow(parent: int) -> None:
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="watch-parent").start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_EVERY)
    os._exit(1)
