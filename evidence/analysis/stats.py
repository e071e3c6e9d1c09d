"""Confidence intervals, pooled response rates and risk ratios, over statsmodels.

Everything here works on counts and returns proportions (0-1); the summary
turns them into the percentages the table uses.  The methods, and why:

* **Study rates** get the Wilson score interval
  (``statsmodels.stats.proportion.proportion_confint(method="wilson")``): unlike
  the Wald interval it stays inside 0-1 and behaves at 0 and at n responders.
  :func:`wilson_intervals` computes statsmodels' closed form for every study
  of a page at once in numpy (one call per study cost milliseconds); a
  property test holds it to ``proportion_confint``.
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

**Comparisons** (intervention arm against control arm) are held to R's
metafor rather than to statsmodels, because statsmodels differs from it
where it matters: its ``effectsize_smd`` uses the approximate bias
correction ``1 - 3/(4m - 1)`` where ``escalc`` uses the exact gamma ratio,
and the variance ``n/(n1 n2) + g²/(2(n - 3.94))`` where ``escalc`` uses
``1/n1 + 1/n2 + g²/(2n)``;
``combine_effects`` has no REML, no prediction interval and no
Mantel-Haenszel RR or RD, and it leaves a negative DL tau² untruncated.
So :func:`dichotomous_effect`, :func:`continuous_effect`,
:func:`fit_inverse_variance` and :func:`fit_mantel_haenszel` write out
metafor's formulas (each docstring names them) over numpy and scipy, and
``tests/data/metafor/`` holds metafor's own values for them to 1e-4:
``escalc`` for RR, OR, RD, MD and SMD (Hedges' g); ``rma.uni`` with
``method="EE"``, ``"DL"``, ``"REML"``, and ``test="knha"`` (HKSJ);
``rma.mh``; and ``predict()`` for the prediction interval.  The I²
definition is metafor's (see :class:`PooledEffect`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Literal, Sequence

from evidence.errors import EvidenceError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from evidence.analysis.comparisons import Comparison, Excluded, StudyComparison

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
    _check_counts(responders, n)
    lows, highs = wilson_intervals([responders], [n], level)
    return Interval(lows[0], highs[0])


def wilson_intervals(
    responders: "Sequence[int] | ArrayLike", n: "Sequence[int] | ArrayLike", level: float = LEVEL
) -> tuple[list[float], list[float]]:
    """The Wilson score intervals of many ``responders/n`` at once: the lower and the upper bounds.

    A page of thousands of studies needs an interval for each; statsmodels'
    ``proportion_confint`` costs milliseconds per call, so the closed form is
    computed here for all of them in numpy, with statsmodels' operations in
    statsmodels' order (a property test holds the two equal).  Every pair must
    have ``0 <= responders <= n`` and ``n > 0`` (checked).  The bounds are
    exactly 0 at 0 responders and 1 at n, despite rounding.
    """
    import numpy as np

    x = np.asarray(responders, dtype=np.float64).reshape(-1)
    m = np.asarray(n, dtype=np.float64).reshape(-1)
    if x.shape != m.shape:
        raise ValueError(f"need as many counts as totals, got {x.size} and {m.size}")
    if np.any(m <= 0) or np.any(x < 0) or np.any(x > m):
        bad = int(np.flatnonzero((m <= 0) | (x < 0) | (x > m))[0])
        raise ValueError(f"need 0 <= responders <= n and n > 0, got {x[bad]:g}/{m[bad]:g}")
    if x.size == 0:
        return [], []
    crit = _z(level)  # statsmodels' critical value, to the last bit
    crit2 = crit**2
    q = x / m
    denom = 1 + crit2 / m
    center = (q + crit2 / (2 * m)) / denom
    dist = crit * np.sqrt(q * (1.0 - q) / m + crit2 / (4.0 * m**2))
    dist /= denom
    low = np.where(x == 0, 0.0, np.clip(center - dist, 0, 1))
    high = np.where(x == m, 1.0, np.clip(center + dist, 0, 1))
    return [float(v) for v in low], [float(v) for v in high]


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
        sum(math.log(vi + tau2) for vi in v) + math.log(total) + sum(wi * (yi - mean) ** 2 for wi, yi in zip(w, y))
    )


def reml_tau2(y: "Iterable[float]", v: "Iterable[float]") -> float:
    """tau² >= 0 maximising the restricted log-likelihood (see the module doc for why not statsmodels)."""
    from scipy.optimize import minimize_scalar

    y, v = [float(a) for a in y], [float(b) for b in v]  # a numpy array or any sequence of numbers
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


def risk_ratio(
    responders: int, n: int, control_responders: int, control_n: int, level: float = LEVEL
) -> RiskRatio | None:
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


# --- comparisons: effect sizes and pooling, held to metafor ---------------------------------------------------

#: Measures whose effects are analysed on the log scale and shown exponentiated.
RATIO_MEASURES = frozenset({"rr", "or"})
DICHOTOMOUS_MEASURES = ("rr", "or", "rd")
CONTINUOUS_MEASURES = ("md", "smd")
MEASURE_NAMES = {
    "rr": "risk ratio",
    "or": "odds ratio",
    "rd": "risk difference",
    "md": "mean difference",
    "smd": "standardised mean difference (Hedges' g)",
}


@dataclass(frozen=True)
class StudyEffect:
    """One study's effect as metafor's ``escalc`` gives it (intervention = group 1).

    ``yi`` and ``vi`` are on the analysis scale (log for RR and OR);
    ``estimate``, ``ci_lb`` and ``ci_ub`` on the natural scale.  ``weight``
    is the study's percent of the total weight in the model it was pooled by
    (``weights()`` in metafor).
    """

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
    """A pooled effect, named as metafor names it; estimate and intervals on the natural scale.

    ``I2`` is metafor's: for DL and REML ``100 tau2 / (tau2 + s2)`` with the
    "typical" within-study variance ``s2 = (k-1) sum(w) / (sum(w)^2 - sum(w^2))``;
    for fixed and MH ``100 (QE - (k-1)) / QE``, floored at 0.  ``QE`` is
    Cochran's Q with the inverse-variance weights, ``QEp`` its chi-squared
    p-value on k-1 degrees of freedom.  ``pi_*`` is the 95% prediction
    interval of ``predict()``; for fixed and MH it equals the CI.
    """

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


@dataclass(frozen=True)
class Model:
    """A fitted model on the analysis scale: what ``rma.uni`` / ``rma.mh`` return, before naming."""

    beta: float
    se: float
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float
    tau2: float
    I2: float
    QE: float
    QEp: float
    k: int
    weights: tuple[float, ...]  # percent


def zero_cell_corrected(a: float, n1: float, c: float, n2: float) -> tuple[float, float, float, float]:
    """Add 0.5 to every cell of the 2x2 table only when one of its cells is 0 (escalc's add=1/2, to="only0")."""
    if 0 in (a, n1 - a, c, n2 - c):
        return a + CORRECTION, n1 + 2 * CORRECTION, c + CORRECTION, n2 + 2 * CORRECTION
    return a, n1, c, n2


def dichotomous_effect(measure: str, a: float, n1: float, c: float, n2: float) -> tuple[float, float]:
    """``(yi, vi)`` of one 2x2 table, group 1 over group 2, as ``escalc`` computes them.

    ``a`` of ``n1`` had the event in group 1 (the intervention), ``c`` of
    ``n2`` in group 2; the zero-cell correction is applied here.
    """
    a, n1, c, n2 = zero_cell_corrected(a, n1, c, n2)
    b, d = n1 - a, n2 - c
    if measure == "rr":
        return math.log((a / n1) / (c / n2)), 1 / a - 1 / n1 + 1 / c - 1 / n2
    if measure == "or":
        return math.log((a * d) / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d
    if measure == "rd":
        p1, p2 = a / n1, c / n2
        return p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    raise ValueError(f"{measure!r} is not a measure for dichotomous outcomes")


def continuous_effect(
    measure: str, m1: float, sd1: float, n1: float, m2: float, sd2: float, n2: float
) -> tuple[float, float]:
    """``(yi, vi)`` of two means, group 1 minus group 2, as ``escalc`` computes them.

    SMD is Hedges' g: Cohen's d with the pooled SD times escalc's exact bias
    correction ``gamma(m/2) / (sqrt(m/2) gamma((m-1)/2))``, m = n1 + n2 - 2,
    and the large-sample variance ``1/n1 + 1/n2 + g^2 / (2 (n1 + n2))``.
    """
    if measure == "md":
        return m1 - m2, sd1**2 / n1 + sd2**2 / n2
    if measure == "smd":
        m = n1 + n2 - 2
        pooled_sd = math.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / m)
        correction = math.exp(math.lgamma(m / 2) - math.log(math.sqrt(m / 2)) - math.lgamma((m - 1) / 2))
        g = correction * (m1 - m2) / pooled_sd
        return g, 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))
    raise ValueError(f"{measure!r} is not a measure for continuous outcomes")


def fit_inverse_variance(
    yi: "ArrayLike", vi: "ArrayLike", method: str = "reml", hksj: bool = False, level: float = LEVEL
) -> Model:
    """``rma.uni(yi, vi, method=..., test="knha" if hksj)`` and its ``predict()``, intercept only.

    ``method`` is "fixed" (metafor's "EE"/"FE"), "dl" or "reml".  REML's
    tau2 is found by metafor's Fisher scoring, iterated to convergence.
    HKSJ scales the standard error by the weighted residual variance (not
    truncated at 1, as metafor's "knha") and uses t on k-1 df for the CI
    and the prediction interval.
    """
    import numpy as np
    from scipy import stats as sps

    y, v = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    k = len(y)
    if k == 0:
        raise ValueError("pooling needs at least one study")
    w = 1 / v
    fixed_mean = float(np.sum(w * y) / np.sum(w))
    qe = float(np.sum(w * (y - fixed_mean) ** 2))
    qep = float(sps.chi2.sf(qe, k - 1)) if k > 1 else 1.0
    if method == "fixed":
        tau2 = 0.0
    elif method == "dl":
        tau2 = dl_tau2(y, v)
    elif method == "reml":
        tau2 = reml_tau2_fisher(y, v)
    else:
        raise ValueError(f"unknown method {method!r} for inverse-variance pooling")
    ws = 1 / (v + tau2)
    beta = float(np.sum(ws * y) / np.sum(ws))
    se = math.sqrt(1 / float(np.sum(ws)))
    crit = _z(level)
    if hksj and k > 1:
        se = math.sqrt(float(np.sum(ws * (y - beta) ** 2)) / ((k - 1) * float(np.sum(ws))))
        crit = float(sps.t.isf((1 - level) / 2, k - 1))
    if method == "fixed":
        i2 = max(0.0, 100 * (qe - (k - 1)) / qe) if k > 1 and qe > 0 else 0.0
    else:
        s2 = (k - 1) * float(np.sum(w)) / (float(np.sum(w)) ** 2 - float(np.sum(w**2))) if k > 1 else 0.0
        i2 = 100 * tau2 / (tau2 + s2) if tau2 + s2 > 0 else 0.0
    half_pi = crit * math.sqrt(se**2 + tau2)
    return Model(
        beta=beta,
        se=se,
        ci_lb=beta - crit * se,
        ci_ub=beta + crit * se,
        pi_lb=beta - half_pi,
        pi_ub=beta + half_pi,
        tau2=tau2,
        I2=i2,
        QE=qe,
        QEp=qep,
        k=k,
        weights=tuple(float(x) for x in 100 * ws / np.sum(ws)),
    )


def dl_tau2(yi: "ArrayLike", vi: "ArrayLike") -> float:
    """DerSimonian-Laird tau2, truncated at 0 as metafor does."""
    import numpy as np

    y, v = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    if len(y) < 2:
        return 0.0
    w = 1 / v
    mean = np.sum(w * y) / np.sum(w)
    q = float(np.sum(w * (y - mean) ** 2))
    c = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    return max(0.0, (q - (len(y) - 1)) / c)


def reml_tau2_fisher(yi: "ArrayLike", vi: "ArrayLike", tol: float = 1e-12, max_iter: int = 1000) -> float:
    """REML tau2 by Fisher scoring from the DL start, truncated at 0 (metafor's algorithm for rma.uni).

    Each step adds ``(y'PPy - tr P) / tr(PP)`` with ``P = W - W11'W / 1'W1``,
    halving the step while it would go below 0.
    """
    import numpy as np

    y, v = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    if len(y) < 2:
        return 0.0
    tau2 = dl_tau2(y, v)
    for _ in range(max_iter):
        w = 1 / (v + tau2)
        p = np.diag(w) - np.outer(w, w) / np.sum(w)
        py = p @ y
        step = (float(py @ py) - float(np.trace(p))) / float(np.sum(p * p))
        new = tau2 + step
        while new < 0:
            step /= 2
            new = tau2 + step
            if abs(step) < tol:
                new = 0.0
                break
        if abs(new - tau2) < tol:
            return new
        tau2 = new
    return tau2


def fit_mantel_haenszel(
    measure: str, tables: Sequence[tuple[float, float, float, float]], level: float = LEVEL
) -> Model:
    """``rma.mh(ai, n1i, ci, n2i, measure=...)``: the Mantel-Haenszel fixed-effect estimate.

    ``tables`` are ``(a, n1, c, n2)``.  The pooled estimate uses the counts
    as they are (no correction); its variance is Robins-Breslow-Greenland's
    for OR, Greenland-Robins' for RR and Sato's (1989) for RD, as in metafor.  QE is
    Cochran's Q of the (zero-cell corrected) study effects about the MH
    estimate, and I2 = (QE - df) / QE, where studies with no events (or
    only events) in both arms count towards the estimate but not towards
    Q and its df, as metafor's ``drop00``.
    """
    import numpy as np
    from scipy import stats as sps

    t = np.asarray(tables, dtype=float)
    a, n1, c, n2 = t[:, 0], t[:, 1], t[:, 2], t[:, 3]
    b, d, n = n1 - a, n2 - c, n1 + n2
    if measure in RATIO_MEASURES:
        r, s = (a * d / n, b * c / n) if measure == "or" else (a * n2 / n, c * n1 / n)
        if r.sum() == 0 or s.sum() == 0:
            raise EvidenceError(
                f"the Mantel-Haenszel {measure.upper()} is not estimable: no events (or no non-events)"
                " in one group across all studies"
            )
    if measure == "or":
        beta = math.log(r.sum() / s.sum())
        pr, ps = (a + d) / n, (b + c) / n
        var = (
            np.sum(pr * r) / (2 * r.sum() ** 2)
            + np.sum(pr * s + ps * r) / (2 * r.sum() * s.sum())
            + np.sum(ps * s) / (2 * s.sum() ** 2)
        )
        weights = s
    elif measure == "rr":
        beta = math.log(r.sum() / s.sum())
        var = np.sum((n1 * n2 * (a + c) - a * c * n) / n**2) / (r.sum() * s.sum())
        weights = s
    elif measure == "rd":
        weights = n1 * n2 / n
        beta = float(np.sum((a * n2 - c * n1) / n) / weights.sum())
        spread = np.sum(c * (n1 / n) ** 2 - a * (n2 / n) ** 2 + (n1 / n) * (n2 / n) * (n2 - n1) / 2)
        var = (beta * spread + np.sum(a * (n2 - c) / n + c * (n1 - a) / n) / 2) / weights.sum() ** 2
    else:
        raise ValueError(f"Mantel-Haenszel pooling is for rr, or and rd, not {measure!r}")
    if not float(var) >= 0:  # Sato's RD variance can go negative with tiny tables; metafor gives NaN
        raise EvidenceError(
            f"the Mantel-Haenszel {measure.upper()} has no variance for these tables (metafor gives NaN); "
            "use --method fixed, dl or reml"
        )
    se = math.sqrt(float(var))
    # as rma.mh's drop00: studies with no events (or only events) in both arms are left out of Q, not of the estimate
    informative = [
        row for row in t if not (row[0] == 0 and row[2] == 0) and not (row[0] == row[1] and row[2] == row[3])
    ]
    effects = [dichotomous_effect(measure, *row) for row in informative]
    y = np.array([e[0] for e in effects])
    w = 1 / np.array([e[1] for e in effects])
    k = len(t)
    df = len(effects) - 1
    qe = float(np.sum(w * (y - beta) ** 2))
    z = _z(level)
    return Model(
        beta=float(beta),
        se=se,
        ci_lb=float(beta) - z * se,
        ci_ub=float(beta) + z * se,
        pi_lb=float(beta) - z * se,
        pi_ub=float(beta) + z * se,
        tau2=0.0,
        I2=max(0.0, 100 * (qe - df) / qe) if df > 0 and qe > 0 else 0.0,
        QE=qe,
        QEp=float(sps.chi2.sf(qe, df)) if df > 0 else 1.0,
        k=k,
        weights=tuple(float(x) for x in 100 * weights / weights.sum()),
    )


def pool(
    comparison: "Comparison", measure: str | None = None, method: str = "reml", hksj: bool = False
) -> PooledEffect:
    """Pool a comparison's studies by ``measure`` and ``method`` (see :func:`fit_inverse_variance`).

    ``measure`` defaults to rr for dichotomous outcomes and md for continuous
    ones.  Studies with no events in either arm carry no information on a
    ratio: they are left out of RR and OR and named in ``excluded``.  A
    combination that cannot be computed (mh with a continuous outcome, a
    ratio without events, md without SDs) raises :class:`EvidenceError`
    with a one-line message naming the comparison.
    """
    from evidence.analysis.comparisons import Excluded

    name = f"{comparison.intervention} vs {comparison.comparator}, {comparison.outcome}"
    if comparison.timepoint:
        name += f" ({comparison.timepoint})"
    measure = measure or ("rr" if comparison.kind == "dichotomous" else "md")
    if measure not in MEASURES:
        raise EvidenceError(f"{name}: unknown measure {measure!r}; expected one of {', '.join(MEASURES)}")
    if method not in METHODS:
        raise EvidenceError(f"{name}: unknown method {method!r}; expected one of {', '.join(METHODS)}")
    wanted = DICHOTOMOUS_MEASURES if comparison.kind == "dichotomous" else CONTINUOUS_MEASURES
    if measure not in wanted:
        other = "continuous" if comparison.kind == "dichotomous" else "dichotomous"
        raise EvidenceError(
            f"{name}: {measure} is for {other} outcomes; this one is {comparison.kind} ({', '.join(wanted)})"
        )
    if method == "mh" and comparison.kind != "dichotomous":
        raise EvidenceError(f"{name}: Mantel-Haenszel pooling is for dichotomous outcomes only")
    if method == "mh" and hksj:
        raise EvidenceError(f"{name}: the Hartung-Knapp-Sidik-Jonkman adjustment applies to dl and reml, not mh")
    excluded = list(comparison.excluded)
    notes = list(comparison.notes)
    used = []
    for study in comparison.studies:
        i, c = study.intervention, study.control
        if comparison.kind == "dichotomous":
            if None in (i.n, i.events, c.n, c.events) or not i.n or not c.n:
                excluded.append(Excluded(study.key, "arm counts missing"))
            elif measure in RATIO_MEASURES and i.events == 0 and c.events == 0:
                excluded.append(Excluded(study.key, "no events in either arm"))
            elif measure == "or" and i.events == i.n and c.events == c.n:
                excluded.append(Excluded(study.key, "everyone had the event in both arms"))
            else:
                used.append(study)
        elif None in (i.n, i.mean, i.sd, c.n, c.mean, c.sd) or not i.sd or not c.sd:
            excluded.append(Excluded(study.key, "continuous outcome without an SD"))
        elif measure == "smd" and (i.n or 0) + (c.n or 0) <= 3:
            excluded.append(Excluded(study.key, "too few participants for a standardised mean difference"))
        else:
            used.append(study)
    if not used:
        raise EvidenceError(f"{name}: no study can be pooled by {measure}" + _reasons(excluded))
    effects = [_study_yv(measure, s) for s in used]
    if method == "mh":
        tables = [(s.intervention.events, s.intervention.n, s.control.events, s.control.n) for s in used]
        try:
            model = fit_mantel_haenszel(measure, tables)  # type: ignore[arg-type]
        except EvidenceError as error:
            raise EvidenceError(f"{name}: {error}") from None
    else:
        model = fit_inverse_variance([e[0] for e in effects], [e[1] for e in effects], method, hksj)
    back = math.exp if measure in RATIO_MEASURES else (lambda x: x)
    z = _z(LEVEL)
    studies = tuple(
        StudyEffect(
            key=s.key,
            yi=yi,
            vi=vi,
            estimate=back(yi),
            ci_lb=back(yi - z * math.sqrt(vi)),
            ci_ub=back(yi + z * math.sqrt(vi)),
            weight=weight,
            participants=round((s.intervention.n or 0) + (s.control.n or 0)),
        )
        for s, (yi, vi), weight in zip(used, effects, model.weights)
    )
    events = None
    if comparison.kind == "dichotomous":
        events = round(sum((s.intervention.events or 0) + (s.control.events or 0) for s in used))
    return PooledEffect(
        measure=measure,
        method=method,
        hksj=hksj,
        estimate=back(model.beta),
        ci_lb=back(model.ci_lb),
        ci_ub=back(model.ci_ub),
        pi_lb=back(model.pi_lb),
        pi_ub=back(model.pi_ub),
        tau2=model.tau2,
        I2=model.I2,
        QE=model.QE,
        QEp=model.QEp,
        k=model.k,
        participants=round(sum((s.intervention.n or 0) + (s.control.n or 0) for s in used)),
        events=events,
        studies=studies,
        excluded=tuple(excluded),
        notes=tuple(notes),
    )


def _study_yv(measure: str, study: "StudyComparison") -> tuple[float, float]:
    i, c = study.intervention, study.control
    if measure in DICHOTOMOUS_MEASURES:
        return dichotomous_effect(measure, i.events, i.n, c.events, c.n)  # type: ignore[arg-type]
    return continuous_effect(measure, i.mean, i.sd, i.n, c.mean, c.sd, c.n)  # type: ignore[arg-type]


def _reasons(excluded: "list[Excluded]") -> str:
    if not excluded:
        return ""
    return " (" + "; ".join(f"{e.key}: {e.reason}" for e in excluded) + ")"
