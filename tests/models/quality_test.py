"""Full-size quality claims of the README (pytest -m slow; several minutes each).

They train the default experiments on the default synthetic world (300,000 examples), exactly
what `python -m garden.train --model=NAME` does.
"""
import pytest

from garden import config, train


@pytest.mark.slow
def test_sdm_hr_at_50_is_at_least_twice_popularity(tmp_path):
    result = train.train(config.resolve("sdm"), str(tmp_path / "sdm"), log=lambda *a: None)
    values = result["eval"]
    assert values["hr@50"] >= 2 * values["popularity_hr@50"], values
    assert result["export"]["max_abs_diff"] <= 1e-5


@pytest.mark.slow
def test_deepfm_closes_70_percent_of_the_gap_to_the_oracle(tmp_path):
    result = train.train(config.resolve("deepfm"), str(tmp_path / "deepfm"),
                         log=lambda *a: None)
    values = result["eval"]
    assert values["gap_closed"] >= 0.7, values
    assert result["export"]["max_abs_diff"] <= 1e-5
