"""Statistics for comparing deterrence wordings: proportions, their intervals, the test between two
of them, the sample size a test needs, and noise for publishing counts with differential privacy.

The unit is a session that saw a warning: its help-click rate is sessions that clicked a help link
over sessions shown the variant, its repeat-block rate sessions blocked again within the window over
the same. Sessions, not page views, so the observations a test compares are independent enough for
the normal approximation.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from statistics import NormalDist

_N = NormalDist()


@dataclass(frozen=True, slots=True)
class Proportion:
    successes: int
    trials: int

    @property
    def rate(self) -> float:
        return self.successes / self.trials if self.trials else 0.0

    def wilson(self, confidence: float = 0.95) -> tuple[float, float]:
        """Wilson score interval: honest near 0 and 1 and for small samples, unlike the Wald interval."""
        n = self.trials
        if n == 0:
            return (0.0, 1.0)
        z = _N.inv_cdf(0.5 + confidence / 2)
        p = self.rate
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True, slots=True)
class Comparison:
    """Variant against the control: difference of rates, the pooled two-proportion z test."""

    difference: float
    z: float
    p_value: float


def two_proportion_test(control: Proportion, other: Proportion) -> Comparison:
    """Two-sided pooled z test of equal proportions (the standard test for an A/B split)."""
    n1, n2 = control.trials, other.trials
    diff = other.rate - control.rate
    if n1 == 0 or n2 == 0:
        return Comparison(diff, 0.0, 1.0)
    pooled = (control.successes + other.successes) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return Comparison(diff, 0.0, 1.0)
    z = diff / se
    return Comparison(diff, z, min(1.0, 2 * (1 - _N.cdf(abs(z)))))


@dataclass(frozen=True, slots=True)
class ExperimentPlan:
    """The fixed-horizon plan an operator commits to before looking: see docs/deterrence.md.

    A comparison is only read once every arm has `sessions_per_arm()` sessions, and then once, at
    `alpha` split (Bonferroni) over the comparisons with the control. Looking earlier and stopping at
    the first small p-value inflates false wins far beyond `alpha`.
    """

    alpha: float = 0.05
    power: float = 0.8
    baseline_rate: float = 0.05
    minimum_effect: float = 0.02
    metric: str = "help_click"

    def sessions_per_arm(self, arms: int = 2) -> int:
        return required_sessions(self.baseline_rate, self.minimum_effect, self.alpha / max(1, arms - 1), self.power)


def required_sessions(baseline: float, effect: float, alpha: float, power: float) -> int:
    """Sessions per arm for a two-sided two-proportion test to detect `effect` (absolute) at `power`."""
    if not (0 < baseline < 1 and effect > 0 and 0 < alpha < 1 and 0 < power < 1):
        raise ValueError("baseline in (0,1), effect > 0, alpha and power in (0,1)")
    p2 = min(baseline + effect, 1 - 1e-9)
    za, zb = _N.inv_cdf(1 - alpha / 2), _N.inv_cdf(power)
    pbar = (baseline + p2) / 2
    num = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(baseline * (1 - baseline) + p2 * (1 - p2))
    return math.ceil((num / effect) ** 2)


def geometric_noise(epsilon: float, rng: random.Random | None = None, sensitivity: int = 1) -> int:
    """Two-sided geometric noise: the discrete Laplace mechanism, epsilon-DP for a count whose value one
    session can change by at most `sensitivity`."""
    if epsilon <= 0:
        raise ValueError("epsilon must be positive")
    r = rng or random.SystemRandom()
    a = math.exp(-epsilon / sensitivity)

    # the difference of two geometric variables with success 1 - a is two-sided geometric
    def geo() -> int:
        u = 1.0 - r.random()
        return math.floor(math.log(u) / math.log(a)) if a > 0 else 0

    return geo() - geo()


def noisy(count: int, epsilon: float, rng: random.Random | None = None, sensitivity: int = 1) -> int:
    """A published count: never negative (post-processing keeps the guarantee)."""
    return max(0, count + geometric_noise(epsilon, rng, sensitivity))
