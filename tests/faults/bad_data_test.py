"""Damaged and malformed data: truncated and bit-flipped TFRecords, files that do not match
the schema, out-of-vocabulary ids, NaN/Inf values, and a loss that blows up."""
import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
import yaml

from input.integrity import CorruptFileError, scan_files
from tests.faults.conftest import tally
from tests.garden.train_test import run_cli

SMALL = ["--model=deepfm", "--batch_size=128", "--params_override=model.hidden_units=[16]"]


def train(data_dir, model_dir, *extra, check=True):
    return run_cli("garden.train", *SMALL, f"--data_dir={data_dir}",
                   f"--model_dir={model_dir}", *extra, check=check)


def truncate(path, cut=9):
    data = open(path, "rb").read()
    open(path, "wb").write(data[:-cut])


def flip_bit(path, where=0.5, bit=3):
    data = bytearray(open(path, "rb").read())
    data[int(len(data) * where)] ^= 1 << bit
    open(path, "wb").write(bytes(data))


def rewrite(path, edit):
    """Rewrites a TFRecord file, passing each tf.train.Example (with its index) to `edit`."""
    records = [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(path)]
    with tf.io.TFRecordWriter(path) as writer:
        for i, example in enumerate(records):
            edit(i, example)
            writer.write(example.SerializeToString())


@pytest.mark.parametrize("damage", [truncate, flip_bit, lambda p: flip_bit(p, 0.9, 6)])
def test_scan_names_the_damaged_file_or_keeps_its_readable_part(damage, ranking_copy):
    files = sorted(glob.glob(os.path.join(ranking_copy, "train-*")))
    intact = scan_files(files).records
    damage(files[1])
    tally("corrupt files tried")
    with pytest.raises(CorruptFileError, match=files[1].replace("/", ".")):
        scan_files(files)
    scan = scan_files(files, skip_corrupt=True)
    assert [p for p, _ in scan.corrupt] == [files[1]]
    assert scan.records[files[0]] == intact[files[0]]
    assert 0 <= scan.records[files[1]] < intact[files[1]]


def test_training_stops_on_a_corrupt_file_or_skips_it_when_asked(ranking_copy, tmp_path):
    files = sorted(glob.glob(os.path.join(ranking_copy, "train-*")))
    truncate(files[0])
    flip_bit(files[1])
    tally("corrupt files tried", 2)
    out = train(ranking_copy, str(tmp_path / "stop"), check=False)
    assert out.returncode != 0
    assert "corrupt or truncated TFRecord file" in out.stderr and files[0] in out.stderr
    assert not os.path.exists(os.path.join(tmp_path, "stop", "checkpoints"))

    out = train(ranking_copy, str(tmp_path / "skip"), "--skip_corrupt_records")
    assert f"warning: {files[0]} is corrupt" in out.stdout
    assert f"warning: {files[1]} is corrupt" in out.stdout
    result = json.load(open(tmp_path / "skip" / "metrics.json"))
    assert sorted(p for p, _ in result["data"]["corrupt_files"]) == files
    tags = set()
    for path in glob.glob(str(tmp_path / "skip" / "train" / "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(v.tag for v in event.summary.value)
    assert "data/corrupt_files" in tags, tags


def test_a_corrupt_eval_file_is_an_error_even_when_skipping(ranking_copy, tmp_path):
    (test_file,) = glob.glob(os.path.join(ranking_copy, "test-*"))
    flip_bit(test_file)
    tally("corrupt files tried")
    out = train(ranking_copy, str(tmp_path / "run"), "--skip_corrupt_records", check=False)
    assert out.returncode != 0 and test_file in out.stderr


@pytest.mark.parametrize("edit, message", [
    (lambda i, ex: ex.features.feature.pop("price"), "feature 'price'"),
    (lambda i, ex: ex.features.feature["item_id"].ClearField("int64_list")
     or ex.features.feature["item_id"].float_list.value.append(1.0), "feature 'item_id' holds"),
    (lambda i, ex: ex.features.feature["user_id"].int64_list.value.append(3),
     "feature 'user_id' has 2 values"),
])
def test_a_file_that_does_not_match_the_schema_is_rejected_before_training(
        edit, message, ranking_copy, tmp_path):
    target = sorted(glob.glob(os.path.join(ranking_copy, "train-*")))[1]
    rewrite(target, edit)
    tally("bad inputs tried")
    out = train(ranking_copy, str(tmp_path / "run"), check=False)
    assert out.returncode != 0 and target in out.stderr and message in out.stderr, out.stderr
    assert "epoch 1" not in out.stdout  # rejected before any training step


def shrink_vocab(data_dir, feature, vocab_size):
    path = os.path.join(data_dir, "schema.yaml")
    schema = yaml.safe_load(open(path))
    for spec in schema["features"]:
        if spec["name"] == feature:
            spec["vocab_size"] = vocab_size
    yaml.safe_dump(schema, open(path, "w"))


def test_out_of_vocabulary_ids_read_as_the_oov_row_and_are_counted(ranking_copy, tmp_path):
    # Halving item_id's vocabulary turns every id >= the new size into an unknown id.
    files = sorted(glob.glob(os.path.join(ranking_copy, "train-*")))
    ids = np.concatenate([[tf.train.Example.FromString(r.numpy()).features.feature["item_id"]
                           .int64_list.value[0] for r in tf.data.TFRecordDataset(f)]
                          for f in files])
    vocab = int(ids.max()) // 2
    shrink_vocab(ranking_copy, "item_id", vocab)
    tally("bad inputs tried")
    out = train(ranking_copy, str(tmp_path / "run"))
    result = json.load(open(tmp_path / "run" / "metrics.json"))
    # One epoch reads every training id once; the prefetching pipeline may read ahead a
    # little, so at least that many were counted (and hist_item_id shares the table).
    assert result["data"]["oov/item_id"] >= int((ids >= vocab).sum()) > 0
    assert "oov/item_id" in out.stdout
    assert np.isfinite(result["eval"]["auc"])


def test_nan_features_are_rejected_or_replaced_as_the_schema_says(ranking_copy, tmp_path):
    target = sorted(glob.glob(os.path.join(ranking_copy, "train-*")))[0]

    def poison(i, example):
        if i % 10 == 3:
            example.features.feature["price"].float_list.value[0] = float(
                ["nan", "inf", "-inf"][i % 3])
    rewrite(target, poison)
    tally("bad inputs tried")
    out = train(ranking_copy, str(tmp_path / "reject"), check=False)
    assert out.returncode != 0
    assert "feature 'price' has NaN or Inf values" in out.stderr, out.stderr[-2000:]
    assert not glob.glob(str(tmp_path / "reject" / "export" / "**" / "saved_model.pb"),
                         recursive=True)

    path = os.path.join(ranking_copy, "schema.yaml")
    schema = yaml.safe_load(open(path))
    for spec in schema["features"]:
        if spec["name"] == "price":
            spec["nonfinite"] = "zero"
    yaml.safe_dump(schema, open(path, "w"))
    train(ranking_copy, str(tmp_path / "zero"))
    result = json.load(open(tmp_path / "zero" / "metrics.json"))
    assert result["data"]["nonfinite/price"] > 0
    assert np.isfinite(result["eval"]["logloss"])


def test_a_loss_that_blows_up_stops_training_keeps_the_last_good_checkpoint(
        ranking_copy, tmp_path):
    model_dir = str(tmp_path / "run")
    train(ranking_copy, model_dir)
    good = tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints"))
    exports = glob.glob(os.path.join(model_dir, "export", "**", "saved_model.pb"),
                        recursive=True)
    tally("bad inputs tried")
    out = run_cli("garden.train", "--model=deepfm", "--batch_size=128", "--epochs=2",
                  f"--data_dir={ranking_copy}", f"--model_dir={model_dir}",
                  "--params_override=model.hidden_units=[16],train.learning_rate=1e30,"
                  "train.steps_per_execution=1", check=False)
    assert out.returncode != 0
    assert "the training loss became" in out.stderr and "between step" in out.stderr
    assert good in out.stderr  # named as the last good checkpoint
    assert tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints")) == good
    assert glob.glob(os.path.join(model_dir, "export", "**", "saved_model.pb"),
                     recursive=True) == exports  # nothing new exported
