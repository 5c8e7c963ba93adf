"""explorer.processes: a forked server process runs its set-up, and ends when its parent ends."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, proc_stat

PARENT = r"""
import os, sys, time
from explorer.processes import after_fork
after_fork(lambda: print("set up in", os.getpid(), flush=True))
child = os.fork()
if child == 0:
    time.sleep(60)   # a server process serving on; it must not outlive its parent
    os._exit(0)
print("child", child, flush=True)
time.sleep(1)
os._exit(0)          # the parent ends (as when the server is stopped) without touching the child
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_forked_process_sets_itself_up_and_ends_with_its_parent():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", PARENT], capture_output=True, text=True, timeout=60, env=env,
                         cwd=REPO).stdout
    lines = dict(line.rsplit(" ", 1) for line in out.split("\n") if line.strip())
    child = int(lines["child"])
    assert int(lines["set up in"]) == child
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{child}") and time.monotonic() < deadline:
        fields = proc_stat(child)
        if fields is None or fields[0] == "Z":  # gone, or ended and not yet reaped by init
            break
        time.sleep(0.1)
    else:
        assert not os.path.exists(f"/proc/{child}"), "the forked process outlived its parent"
