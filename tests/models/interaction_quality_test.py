"""Full-size quality claims for xDeepFM, FiBiNET and AutoInt (pytest -m slow; minutes each).

Like quality_test.py: the default experiments on the default synthetic world (300,000
examples), what `python -m garden.train --model=NAME` does. Each must close at least 70% of
the gap between the popularity score and the oracle, the bar deepfm is held to (all four
measured at 0.79-0.83 on this world, see the README).
"""
import pytest

from garden import config, train


@pytest.mark.slow
@pytest.mark.parametrize("name", ["autoint", "fibinet", "xdeepfm"])
def test_closes_70_percent_of_the_gap_to_the_oracle(name, tmp_path):
    result = train.train(config.resolve(name), str(tmp_path / name), log=lambda *a: None)
    values = result["eval"]
    assert values["gap_closed"] >= 0.7, values
    assert result["export"]["max_abs_diff"] <= 1e-5
