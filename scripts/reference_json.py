"""JSON helpers of the reference generators (scripts/make_metric_references.py,
scripts/make_shift_references.py): exact float64 lists, integer lists, base64 arrays."""
import base64

import numpy as np


def b64(a, dtype):
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).astype("<" + np.dtype(dtype).str[1:]).tobytes()).decode("ascii")


def floats(a):
    """Plain JSON list of float64 values (json writes repr: exact round trip)."""
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def ints(a):
    return [int(v) for v in np.asarray(a).ravel()]
