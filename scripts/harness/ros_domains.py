"""ROS domains for tests, claimed through lock files shared by every test process on this machine.

Domains 1..100 are valid on Linux for any number of participants per domain (ROS 2 docs); 0 is
everybody's default and is left to interactive use. A domain is held by an exclusive flock on
``<tmp>/socialego-ros-domains/domain-<id>.lock``; the open file *is* the lock, released when the
process that holds it ends.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

TEST_DOMAINS = range(1, 101)
LOCK_DIR = Path(tempfile.gettempdir()) / "socialego-ros-domains"


def claim_domain(order: Iterable[int]) -> tuple[int, IO[str]]:
    """The first domain of ``order`` no other process holds, and its lock file (keep it open)."""
    LOCK_DIR.mkdir(exist_ok=True)
    for domain in order:
        handle = open(LOCK_DIR / f"domain-{domain}.lock", "w")  # noqa: SIM115 - the lock
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        return domain, handle
    raise RuntimeError(
        f"all ROS test domains {TEST_DOMAINS.start}..{TEST_DOMAINS.stop - 1} are held by other "
        "test processes"
    )
