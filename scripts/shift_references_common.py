"""Shared by scripts/make_shift_references.py and scripts/shift_references_predictors.py: the
imports, the constants copied from the code under test, and the JSON helpers."""
import base64
import json
import math
import os
import warnings

import numpy as np
import scipy
import scipy.ndimage
import scipy.special
import scipy.stats
import sklearn
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "shift-reference.json")
SEED = 20240505

# Copied from the file headers / constants under test (they are inputs, not code).
TRUNCATE = 4.0
DEFAULT_STRENGTHS = {
    "noise": [0.04, 0.16, 0.32],
    "blur": [0.6, 2.0, 3.2],
    "gamma": [0.5, 0.7, 2.2],
    "contrast": [0.7, 0.35, 0.2],
    "scale": [0.6, 0.8, 1.6],
}
FAMILIES = ["noise", "blur", "gamma", "contrast", "scale"]
ALPHAS = [0.01, 0.1, 1.0, 10.0, 100.0]
INTERVAL_QUANTILE = 0.9
ANCHORED_ALPHAS = [0.001, 0.01, 0.1, 1.0, 10.0, 100.0]
MIN_SLOPE = 0.8
CONFORMAL_MISS = 0.2
TEMPERATURES = [0.5, 0.75, 1, 1.5, 2, 3, 5, 8]
LABEL_FREE_METRICS = ["roughness", "knnConfidence", "featureShift", "knnDice", "featureShiftFg"]
PREDICTOR_METRICS = ["knnDice", "featureShift", "featureShiftFg"]


from reference_json import b64, floats, ints  # noqa: F401


def none_if_nan(v):
    return None if v is None or not np.isfinite(v) else float(v)
