"""tools/quality_table.py: its rows follow the registry, and its table survives models that
report other metrics or fail."""
import pytest

from garden import registry
from tools import quality_table


def test_rows_are_every_registered_ranking_model_then_variants():
    rows = quality_table.rows("ranking", [])
    models = registry.list_models("ranking")
    assert [r[0] for r in rows[:len(models)]] == models
    for label, model, override in rows[len(models):]:
        assert model in models and override, label
    assert quality_table.rows("ranking", ["pnn"], variants=False) == [("pnn", "pnn", "")]
    with pytest.raises(ValueError, match="'sdm'.*not registered ranking"):
        quality_table.rows("ranking", ["sdm"])


def test_table_keeps_rows_without_metrics_and_failures():
    results = [("a", {"error": "ValueError: boom"}),
               ("b", {"task_auc": {"click": 0.7}}),  # another task's keys: blank cells
               ("c", {"auc": 0.75, "logloss": 0.5, "gauc": 0.7, "oracle_gap": 0.07,
                      "examples_per_second": 12345.6, "popularity_auc": 0.62,
                      "oracle_auc": 0.82})]
    table = quality_table.format_table("ranking", results, quality_table.baseline_row("ranking", results))
    lines = table.splitlines()
    assert lines[2] == "| a | failed: ValueError: boom |"
    assert lines[3] == "| b |  |  |  |  |  |"
    assert lines[4] == "| c | 0.7500 | 0.5000 | 0.7000 | 0.0700 | 12,346 |"
    assert lines[5] == "| popularity (item CTR) | 0.6200 |  |  | 0.2000 |  |"
    assert quality_table.baseline_row("ranking", results[:2]) is None
