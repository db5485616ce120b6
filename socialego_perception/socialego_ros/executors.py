"""A multi-threaded executor that cannot starve its own worker threads.

rclpy's ``MultiThreadedExecutor`` hands each ready callback to a thread pool and goes straight
back to ``_wait_for_ready_callbacks``, which first yields again every task that is "in
progress" (neither executing nor done) without waiting. A task a worker has not started yet is
therefore yielded and submitted again and again while the spinning thread loops in Python,
releasing the GIL only for short C calls and taking it back at once. CPython hands the GIL to a
waiting thread only when the holder is asked to drop it, and every quick release and re-take
counts as a switch, so the worker that should start the task can wait for the GIL for hundreds
of milliseconds: nothing runs in the process, not the task, not the ``/clock`` subscription,
not the timers (measured: whole-process stalls of 0.2 to 0.9 s, seen in sim-time replays as an
intent node that stopped ticking; a thread dump in the stall shows the spinning thread in
``_wait_for_ready_callbacks`` and both workers waiting for their queue).

``StarvationFreeExecutor`` waits, after submitting a task, until a worker has started it (or it
is done), sleeping meanwhile: the sleep releases the GIL for real, so the worker gets it, and
the task is never yielded twice. The wait is bounded, so a worker pool that is busy with long
callbacks still cannot block the executor.
"""

from __future__ import annotations

import time

from rclpy.executors import (
    ConditionReachedException,
    ExternalShutdownException,
    MultiThreadedExecutor,
    ShutdownException,
    TimeoutException,
)

HANDSHAKE_TIMEOUT_S = 0.05  # give up waiting for a worker to start a task after this long
HANDSHAKE_POLL_S = 0.0002


class StarvationFreeExecutor(MultiThreadedExecutor):
    """``MultiThreadedExecutor`` whose spinning thread waits until each submitted task started."""

    def _spin_once_impl(self, timeout_sec=None, wait_condition=lambda: False) -> None:
        try:
            handler, entity, node = self.wait_for_ready_callbacks(timeout_sec, None, wait_condition)
        except (
            ExternalShutdownException,
            ShutdownException,
            TimeoutException,
            ConditionReachedException,
        ):
            return
        self._executor.submit(handler)
        self._futures.append(handler)
        deadline = time.monotonic() + HANDSHAKE_TIMEOUT_S
        while not (handler.executing() or handler.done()) and time.monotonic() < deadline:
            time.sleep(HANDSHAKE_POLL_S)  # releases the GIL to the worker that takes it
        for future in self._futures[:]:
            if future.done():
                self._futures.remove(future)
                future.result()  # raise any exceptions
