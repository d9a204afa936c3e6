"""Link schedules of the developmental model: imposed by contacts, or predicted by a contact hazard."""

import numpy as np
import pytest

from mesoscale.generative.development import SCHEDULES, development_schedule, schedule_exponents


def line(n=60):
    return np.c_[np.linspace(0, 10, n), np.zeros(n), np.zeros(n)]


def test_hazard_schedule_fixes_only_the_total():
    P = line()
    h = development_schedule(P, np.arange(60), m_final=150, n_stages=12, elongation=3.0, length_scale=0.05, axis=0,
                             schedule="hazard")
    assert h["m"][-1] == 150 and np.all(np.diff(h["m"]) >= 0) and h["schedule"] == "hazard"
    # the link counts are the expected numbers of pairs linked by each stage, with one rate constant
    n = 60
    iu = np.triu_indices(n, 1)
    acc = np.zeros(iu[0].size)
    expected = []
    for s in range(12):
        alive = h["birth_stage"] <= s
        k = np.where(alive[iu[0]] & alive[iu[1]], np.exp(-h["D"][s][iu] / h["range"]), 0.0)
        acc += k
        expected.append(np.sum(-np.expm1(-h["rate"] * acc)))
    assert np.allclose(h["m"][:-1], np.round(expected[:-1]), atol=1)
    c = development_schedule(P, np.arange(60), m_final=150, n_stages=12, elongation=3.0, length_scale=0.05, axis=0)
    assert np.isnan(c["rate"]) and not np.array_equal(c["m"], h["m"])


def test_schedules_predict_different_growth_exponents():
    t = schedule_exponents({"positions": line(80), "birth_order": np.arange(80), "axis": 0}, [1.0, 4.0], [0.05],
                           m_final=200, n_stages=16)
    assert set(t["schedule"]) == set(SCHEDULES) and len(t) == 4
    hz = t[t["schedule"] == "hazard"]
    co = t[t["schedule"] == "contacts"]
    # pairs in contact for longer accumulate links: the hazard process keeps growth faster than the contact count
    assert (hz["exponent_late"].to_numpy() > co["exponent_late"].to_numpy()).all()


def test_bad_schedule_and_unreachable_budget():
    with pytest.raises(ValueError, match="'schedule'"):
        development_schedule(line(), np.arange(60), m_final=10, n_stages=4, axis=0, schedule="logistic")
    with pytest.raises(ValueError, match="more pairs than ever come into contact"):
        development_schedule(line(10), np.arange(10), m_final=45, n_stages=4, axis=0, length_scale=1e-9,
                             schedule="hazard")
