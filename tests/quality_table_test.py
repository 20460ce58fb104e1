"""tools/quality_table.py: its rows follow the registry, and its table survives models that
report other metrics or fail."""
import importlib.util
import os

import pytest

from garden import registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location(
        "quality_table", os.path.join(ROOT, "tools", "quality_table.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rows_are_every_registered_ranking_model_then_variants(tool):
    rows = tool.rows("ranking", [])
    models = registry.list_models("ranking")
    assert [r[0] for r in rows[:len(models)]] == models
    for label, model, override in rows[len(models):]:
        assert model in models and override, label
    assert tool.rows("ranking", ["pnn"], variants=False) == [("pnn", "pnn", "")]
    with pytest.raises(ValueError, match="'sdm'.*not registered ranking"):
        tool.rows("ranking", ["sdm"])


def test_table_keeps_rows_without_metrics_and_failures(tool):
    results = [("a", {"error": "ValueError: boom"}),
               ("b", {"task_auc": {"click": 0.7}}),  # another task's keys: blank cells
               ("c", {"auc": 0.75, "logloss": 0.5, "gauc": 0.7, "oracle_gap": 0.07,
                      "examples_per_second": 12345.6, "popularity_auc": 0.62,
                      "oracle_auc": 0.82})]
    table = tool.format_table("ranking", results, tool.baseline_row("ranking", results))
    lines = table.splitlines()
    assert lines[2] == "| a | failed: ValueError: boom |"
    assert lines[3] == "| b |  |  |  |  |  |"
    assert lines[4] == "| c | 0.7500 | 0.5000 | 0.7000 | 0.0700 | 12,346 |"
    assert lines[5] == "| popularity (item CTR) | 0.6200 |  |  | 0.2000 |  |"
    assert tool.baseline_row("ranking", results[:2]) is None
