"""Reference values for engine/certify/smoothing.ts lowerConfidenceBound (and the radii built on it).

Cohen et al.'s core.py computes the one-sided (1 - alpha) Clopper-Pearson lower bound as
    proportion_confint(nA, n, alpha=2 * alpha, method="beta")[0]
This script evaluates exactly that with statsmodels, and sigma * norm.ppf(bound) with scipy, and prints
JSON for test/fixtures/certify/clopper-pearson.json.

Run: python3 scripts/reference/clopper_pearson.py > test/fixtures/certify/clopper-pearson.json
(needs statsmodels and scipy, e.g. Debian's python3-statsmodels).
"""
import json
import sys

import scipy
import statsmodels
from scipy.stats import norm
from statsmodels.stats.proportion import proportion_confint

CASES = [
    # (nA, n, alpha): k = 0 and k = n at every size, Cohen's settings, and values near pA = 1/2.
    (0, 10, 0.05), (1, 10, 0.05), (5, 10, 0.05), (9, 10, 0.05), (10, 10, 0.05),
    (0, 100, 0.001), (1, 100, 0.001), (50, 100, 0.001), (63, 100, 0.001), (99, 100, 0.001), (100, 100, 0.001),
    (0, 1000, 0.05), (520, 1000, 0.05), (530, 1000, 0.05), (800, 1000, 0.05), (999, 1000, 0.05), (1000, 1000, 0.05),
    (0, 10000, 0.001), (5150, 10000, 0.001), (7000, 10000, 0.001), (9990, 10000, 0.001), (10000, 10000, 0.001),
    (1, 100000, 0.001), (50500, 100000, 0.001), (90000, 100000, 0.001), (99999, 100000, 0.001), (100000, 100000, 0.001),
    (12345, 54321, 0.01), (3, 7, 0.2),
]
SIGMA = 0.5

rows = []
for nA, n, alpha in CASES:
    lower = float(proportion_confint(nA, n, alpha=2 * alpha, method="beta")[0])
    rows.append({
        "nA": nA, "n": n, "alpha": alpha, "pALower": lower,
        # Radius at sigma = SIGMA as CERTIFY would report it (only meaningful when pALower >= 1/2).
        "radius": SIGMA * float(norm.ppf(lower)) if lower >= 0.5 else 0.0,
    })

json.dump({
    "source": "scripts/reference/clopper_pearson.py: statsmodels.stats.proportion.proportion_confint(nA, n, alpha=2*alpha, method='beta')[0]; radius = sigma * scipy.stats.norm.ppf(pALower)",
    "versions": {"python": sys.version.split()[0], "statsmodels": statsmodels.__version__, "scipy": scipy.__version__},
    "sigma": SIGMA,
    "cases": rows,
}, sys.stdout, indent=1)
print()
