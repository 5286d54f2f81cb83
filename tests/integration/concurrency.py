"""Run the same work in several threads released at once; collect results and errors."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def run_together(count: int, work: Callable[[int], T]) -> tuple[list[T], list[BaseException]]:
    """Call `work(0..count-1)` in `count` threads that start together."""
    results: list[T] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def one(n: int) -> None:
        barrier.wait()
        try:
            results.append(work(n))
        except BaseException as exc:  # collected for the caller to assert on
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors
