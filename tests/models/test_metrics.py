"""Metric functions against scikit-learn / scipy on small cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import brier_score_loss, log_loss

from passing_score.models.metrics import (
    CdfForecast,
    DiscreteForecast,
    binary_metrics,
    calibration_error,
    crps,
    distribution_metrics,
)


def test_binary_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, 500)
    y = (rng.uniform(size=500) < p).astype(int)
    m = binary_metrics(y, p)
    assert m["log_loss"] == pytest.approx(log_loss(y, p))
    assert m["brier"] == pytest.approx(brier_score_loss(y, p))
    assert m["n"] == 500


def test_calibration_error_by_hand() -> None:
    # bins 0.2 (3 plays, mean p .2, rate 1/3) and 0.8 (1 play, p .8, rate 0)
    y = np.array([1, 0, 0, 0])
    p = np.array([0.2, 0.21, 0.19, 0.8])
    expected = (3 * abs(0.2 - 1 / 3) + 1 * 0.8) / 4
    assert calibration_error(y, p) == pytest.approx(expected)


def test_gaussian_nll_crps_and_coverage() -> None:
    rng = np.random.default_rng(1)
    mu, sd = 5.0, 7.0
    y = np.round(rng.normal(mu, sd, 20000))
    f = CdfForecast(lambda x: stats.norm.cdf(x, mu, sd), len(y))
    m = distribution_metrics(f, y)
    want = -np.log(stats.norm.cdf(y + 0.5, mu, sd) - stats.norm.cdf(y - 0.5, mu, sd)).mean()
    assert m["nll"] == pytest.approx(want)
    # CRPS of a Gaussian has a closed form; rounding y to integers adds a little
    z = (y - mu) / sd
    closed = (sd * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z)
                    - 1 / np.sqrt(np.pi))).mean()
    assert m["crps"] == pytest.approx(closed, rel=0.01)
    # a correct model covers its quantiles
    assert m["coverage_error"]["body"] < 0.01
    assert m["share_below"]["0.05"] == pytest.approx(0.05, abs=0.01)


def test_miscalibrated_model_has_coverage_error() -> None:
    rng = np.random.default_rng(2)
    y = np.round(rng.standard_t(3, 20000) * 5)
    narrow = CdfForecast(lambda x: stats.norm.cdf(x, 0, 3), len(y))
    assert distribution_metrics(narrow, y)["coverage_error"]["upper"] > 0.02


def test_discrete_forecast_cdf_and_crps() -> None:
    support = np.arange(-5, 71)
    probs = np.zeros((2, len(support)))
    probs[0, support == 3] = 1.0  # certain 3
    probs[1, support == 0] = 0.5
    probs[1, support == 10] = 0.5
    f = DiscreteForecast(probs, support)
    assert f.cdf(np.array([2.5, 3.5])).tolist() == [0.0, 0.5]  # one x per row
    assert f.cdf(np.array([[2.5, 3.5]] * 2))[0].tolist() == [0.0, 1.0]
    assert f.cdf(np.array([[0.0, 9.9, 10.0]] * 2))[1].tolist() == [0.5, 0.5, 1.0]
    # a point forecast at the outcome has zero CRPS
    assert crps(DiscreteForecast(probs[:1], support), np.array([3.0])) == pytest.approx(0, abs=1e-9)
