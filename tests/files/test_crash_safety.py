"""A process killed (SIGKILL) in the middle of saving never leaves a broken model file: the
previous file stays intact and loadable, because ffbp writes a temporary file, fsyncs it and
renames it over the old one; and the next save removes the temporaries killed saves left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np

import ffbp

SAVER = r"""
import sys, numpy as np, ffbp
path = sys.argv[1]
net = ffbp.Network([ffbp.Dense(300, 400), ffbp.ReLU(), ffbp.Dense(400, 10)], seed=0)
print("ready", flush=True)
version = 0
while True:                                   # every file written holds one constant value
    version += 1
    net.flat_values[:] = version
    ffbp.save(net, path)
"""


def test_sigkill_during_saves_never_breaks_the_file(tmp_path):
    path = tmp_path / "model.ffbp"
    first = ffbp.Network([ffbp.Dense(300, 400), ffbp.ReLU(), ffbp.Dense(400, 10)], seed=1)
    ffbp.save(first, path)
    rng = np.random.default_rng(0)
    for _ in range(10):
        proc = subprocess.Popen([sys.executable, "-c", SAVER, str(path)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.4))        # somewhere inside a save, most likely
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        values = ffbp.load(path).flat_values       # always loadable, and one whole save:
        if not np.array_equal(values, first.flat_values):
            assert np.all(values == values[0]) and values[0] >= 1, "a file mixing two saves"
    # Temporaries of killed writers may remain (".ffbp-PID-RANDOM-HOST.tmp", never the
    # model); the next save removes them, since their writers are dead.
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name != "model.ffbp")
    assert all(n.startswith(".ffbp-") and n.endswith(".tmp") for n in leftovers), leftovers
    ffbp.save(first, path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.ffbp"]
