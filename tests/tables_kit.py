"""A small mixed table the table tests (tests/tabular, tests/cli) build their cases from."""

from __future__ import annotations

import numpy as np


def small_table(n=40, seed=0):
    """Two numeric columns a, b, a colour (red/green) and a yes/no target y = (a > 0)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": rng.normal(size=n),
                         "color": rng.choice(["red", "green"], n),
                         "y": np.where(a > 0, "yes", "no")})
