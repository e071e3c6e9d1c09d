"""Confidence intervals, pooled response rates and risk ratios, over statsmodels.

Everything here works on counts and returns proportions (0-1); the summary
turns them into the percentages the table uses.  The methods, and why:

* **Study rates** get the Wilson score interval
  (``statsmodels.stats.proportion.proportion_confint(method="wilson")``): unlike
  the Wald interval it stays inside 0-1 and behaves at 0 and at n responders.
* **Pooled rates** are a meta-analysis of proportions on the logit scale.
  Each study contributes ``logit(x/n)`` with variance ``1/x + 1/(n-x)``; a
  study with 0 or with all responders has no finite logit, so *that study
  alone* gets 0.5 added to its responders and 1 to its n (the continuity
  correction), and the other studies are used as they are.
  Heterogeneity: Cochran's Q, I² = max(0, (Q - df)/Q) and tau² (the
  between-study variance on the logit scale).
* ``method="dl"`` (the default) is DerSimonian-Laird, from
  ``statsmodels.stats.meta_analysis.combine_effects(method_re="dl")``.
  statsmodels does not truncate the DL tau² at zero; a negative value means
  no detectable heterogeneity, so we set tau² to 0, where the random-effects
  estimate equals the fixed-effect one (the textbook DL estimator).
* ``method="fixed"`` is the inverse-variance fixed-effect estimate from the
  same statsmodels call.
* ``method="reml"``: statsmodels 0.15 has no REML estimator of tau² for
  ``combine_effects`` (it offers DL and Paule-Mandel only), and ``MixedLM``
  cannot hold the within-study variances fixed.  We therefore maximise the
  restricted log-likelihood of the normal random-effects model over
  tau² >= 0 with ``scipy.optimize.minimize_scalar`` (scipy is a statsmodels
  dependency), and then combine the studies with that tau² through
  statsmodels' weighted least squares (``WLS`` with weights 1/(v + tau²)
  and the scale fixed at 1), which gives the usual random-effects estimate
  and standard error.
* **Risk ratios** of an arm against its control use the log (Katz) interval
  from ``confint_proportions_2indep(compare="ratio", method="log")``.  When
  a cell of the 2x2 table is zero, 0.5 is added to every cell; when both
  arms have no responders, or both have only responders, the ratio is not
  estimable and ``None`` is returned.

All intervals are 95% with the normal critical value 1.959964.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Sequence

from evidence.errors import EvidenceError

if TYPE_CHECKING:
    from evidence.analysis.comparisons import Comparison, Excluded

Method = Literal["dl", "reml", "fixed", "mh"]
#: Pooling methods for comparisons; "mh" (Mantel-Haenszel) is for dichotomous outcomes only.
METHODS: tuple[str, ...] = ("dl", "reml", "fixed", "mh")
#: Pooling methods for single-arm rates (logit proportions): Mantel-Haenszel needs two arms.
PROPORTION_METHODS: tuple[str, ...] = ("dl", "reml", "fixed")
MEASURES: tuple[str, ...] = ("rr", "or", "rd", "md", "smd")
METHOD_NAMES = {
    "dl": "random-effects (DerSimonian-Laird)",
    "reml": "random-effects (restricted maximum likelihood)",
    "fixed": "fixed-effect (inverse variance)",
    "mh": "fixed-effect (Mantel-Haenszel)",
}
LEVEL = 0.95
CORRECTION = 0.5


@dataclass(frozen=True)
class Interval:
    """A confidence interval; proportions in stats, percentages in summaries."""

    low: float
    high: float


@dataclass(frozen=True)
class LogitEffect:
    """One study as it enters the pooling: logit rate, its variance, whether corrected."""

    responders: int
    n: int
    logit: float
    variance: float
    corrected: bool

    @property
    def rate(self) -> float:
        """The rate as analysed (after any continuity correction), as a proportion."""
        return expit(self.logit)


@dataclass(frozen=True)
class Pooled:
    """A pooled response rate and its heterogeneity.

    ``estimate`` and ``ci`` are proportions.  ``tau2`` is on the logit scale
    (0 for the fixed-effect method); ``i2`` is a percentage, ``None`` with a
    single study.  ``weights`` are the relative weights (summing to 1) of
    the studies in the order given.
    """

    method: str
    k: int
    estimate: float
    ci: Interval
    logit: float
    logit_se: float
    tau2: float
    q: float
    df: int
    i2: float | None
    weights: tuple[float, ...]
    corrected: tuple[bool, ...]


@dataclass(frozen=True)
class RiskRatio:
    """Risk of response in the arm over that in its control, with a 95% CI."""

    estimate: float
    ci: Interval
    corrected: bool


def expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def wilson_interval(responders: int, n: int, level: float = LEVEL) -> Interval:
    """The Wilson score interval of ``responders/n`` as proportions.

    The caller must pass ``0 <= responders <= n`` and ``n > 0``; a study with
    n = 0 has no rate, and the summary says so instead of calling this.
    """
    from statsmodels.stats.proportion import proportion_confint

    _check_counts(responders, n)
    low, high = proportion_confint(responders, n, alpha=1 - level, method="wilson")
    # The bounds are exactly 0 and 1 at 0 and n responders; keep them so despite rounding.
    low = 0.0 if responders == 0 else _clip01(float(low))
    high = 1.0 if responders == n else _clip01(float(high))
    return Interval(low, high)


def logit_effect(responders: int, n: int) -> LogitEffect:
    """A study's logit rate and variance, corrected only if it has 0 or all responders."""
    _check_counts(responders, n)
    corrected = responders in (0, n)
    x = responders + CORRECTION if corrected else float(responders)
    m = n + 2 * CORRECTION if corrected else float(n)
    return LogitEffect(responders, n, math.log(x / (m - x)), 1 / x + 1 / (m - x), corrected)


def pool_proportions(counts: Sequence[tuple[int, int]], method: str = "dl", level: float = LEVEL) -> Pooled:
    """Pool ``(responders, n)`` pairs on the logit scale by ``method`` (see module doc)."""
    if method == "mh":
        raise EvidenceError("Mantel-Haenszel pooling needs two arms; single-arm rates use dl, reml or fixed")
    if method not in PROPORTION_METHODS:
        raise ValueError(f"unknown pooling method {method!r}; expected one of {', '.join(PROPORTION_METHODS)}")
    if not counts:
        raise ValueError("pooling needs at least one study")
    effects = [logit_effect(x, n) for x, n in counts]
    if len(effects) == 1:
        return _single(effects[0], method, level)
    return _pool(effects, method, level)


def _single(effect: LogitEffect, method: str, level: float) -> Pooled:
    se = math.sqrt(effect.variance)
    z = _z(level)
    return Pooled(
        method=method,
        k=1,
        estimate=effect.rate,
        ci=Interval(expit(effect.logit - z * se), expit(effect.logit + z * se)),
        logit=effect.logit,
        logit_se=se,
        tau2=0.0,
        q=0.0,
        df=0,
        i2=None,
        weights=(1.0,),
        corrected=(effect.corrected,),
    )


def _pool(effects: list[LogitEffect], method: str, level: float) -> Pooled:
    import numpy as np
    from statsmodels.stats.meta_analysis import combine_effects

    y = np.array([e.logit for e in effects])
    v = np.array([e.variance for e in effects])
    with np.errstate(divide="ignore", invalid="ignore"):  # a negative DL tau² is handled below
        result = combine_effects(y, v, method_re="dl", alpha=1 - level)
    q, df = float(result.q), len(effects) - 1
    if method == "fixed":
        tau2, mean, se = 0.0, float(result.mean_effect_fe), float(result.sd_eff_w_fe)
        weights = result.weights_rel_fe
    elif method == "dl" and float(result.tau2) > 0:
        tau2, mean, se = float(result.tau2), float(result.mean_effect_re), float(result.sd_eff_w_re)
        weights = result.weights_rel_re
    elif method == "dl":
        tau2, mean, se = 0.0, float(result.mean_effect_fe), float(result.sd_eff_w_fe)
        weights = result.weights_rel_fe
    else:
        tau2 = reml_tau2(y, v)
        mean, se, weights = _random_effects_wls(y, v, tau2)
    z = _z(level)
    return Pooled(
        method=method,
        k=len(effects),
        estimate=expit(mean),
        ci=Interval(expit(mean - z * se), expit(mean + z * se)),
        logit=mean,
        logit_se=se,
        tau2=tau2,
        q=q,
        df=df,
        i2=i_squared(q, df),
        weights=tuple(float(w) for w in weights),
        corrected=tuple(e.corrected for e in effects),
    )


def i_squared(q: float, df: int) -> float | None:
    """Higgins' I² in percent: the share of variation beyond chance; ``None`` without df."""
    if df <= 0:
        return None
    if q <= 0:
        return 0.0
    return max(0.0, (q - df) / q) * 100.0


def restricted_loglik(tau2: float, y: "Sequence[float]", v: "Sequence[float]") -> float:
    """The REML log-likelihood of the random-effects model, up to a constant."""
    w = [1 / (vi + tau2) for vi in v]
    total = sum(w)
    mean = sum(wi * yi for wi, yi in zip(w, y)) / total
    return -0.5 * (
        sum(math.log(vi + tau2) for vi in v)
        + math.log(total)
        + sum(wi * (yi - mean) ** 2 for wi, yi in zip(w, y))
    )


def reml_tau2(y: "Sequence[float]", v: "Sequence[float]") -> float:
    """tau² >= 0 maximising the restricted log-likelihood (see the module doc for why not statsmodels)."""
    from scipy.optimize import minimize_scalar

    y, v = [float(a) for a in y], [float(b) for b in v]
    spread = max(y) - min(y)
    upper = max(1.0, 10 * spread**2 + 10 * max(v))
    found = minimize_scalar(
        lambda t: -restricted_loglik(t, y, v), bounds=(0.0, upper), method="bounded", options={"xatol": 1e-10}
    )
    best = float(found.x)
    return 0.0 if restricted_loglik(0.0, y, v) >= restricted_loglik(best, y, v) else best


def _random_effects_wls(y: "object", v: "object", tau2: float) -> tuple[float, float, "object"]:
    """Weighted mean, its standard error and relative weights for a given tau², via statsmodels WLS."""
    import numpy as np
    import statsmodels.api as sm

    weights = 1 / (np.asarray(v) + tau2)
    fit = sm.WLS(np.asarray(y), np.ones((len(weights), 1)), weights=weights).fit(
        cov_type="fixed scale", cov_kwds={"scale": 1.0}
    )
    return float(fit.params[0]), float(fit.bse[0]), weights / weights.sum()


def risk_ratio(responders: int, n: int, control_responders: int, control_n: int, level: float = LEVEL) -> RiskRatio | None:
    """The risk ratio of response, arm over control; ``None`` when it is not estimable."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    _check_counts(responders, n)
    _check_counts(control_responders, control_n)
    if (responders == 0 and control_responders == 0) or (responders == n and control_responders == control_n):
        return None
    corrected = 0 in (responders, n - responders, control_responders, control_n - control_responders)
    extra = CORRECTION if corrected else 0.0
    x1, n1 = responders + extra, n + 2 * extra
    x2, n2 = control_responders + extra, control_n + 2 * extra
    low, high = confint_proportions_2indep(x1, n1, x2, n2, compare="ratio", method="log", alpha=1 - level)
    return RiskRatio((x1 / n1) / (x2 / n2), Interval(float(low), float(high)), corrected)


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.isf((1 - level) / 2))


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, value))


def _check_counts(responders: int, n: int) -> None:
    if n <= 0 or not 0 <= responders <= n:
        raise ValueError(f"need 0 <= responders <= n and n > 0, got {responders}/{n}")


@dataclass(frozen=True)
class StudyEffect:
    """One study's effect as metafor's ``escalc`` gives it (intervention = group 1)."""

    key: str
    yi: float
    vi: float
    estimate: float
    ci_lb: float
    ci_ub: float
    weight: float
    participants: int


@dataclass(frozen=True)
class PooledEffect:
    """A pooled effect named as metafor names it; estimate and intervals on the natural scale."""

    measure: str
    method: str
    hksj: bool
    estimate: float
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float
    tau2: float
    I2: float
    QE: float
    QEp: float
    k: int
    participants: int
    events: int | None
    studies: tuple[StudyEffect, ...]
    excluded: "tuple[Excluded, ...]"
    notes: tuple[str, ...]


def pool(comparison: "Comparison", measure: str | None = None, method: str = "reml", hksj: bool = False) -> PooledEffect:
    """Pool a comparison's studies; see the module doc for the methods."""
    raise NotImplementedError
