"""MultiTaskRankingModel: several binary labels (click, conversion, ...) learned together."""
import tensorflow as tf

from garden.config import ConfigError
from garden.tasks.base import GardenModel


def task_labels(task):
    """The labels of a task config: `task.labels`, or [`task.label`] when it is empty."""
    return list(task.labels) or [task.label]


def oracle_labels(task):
    """Per task label, its oracle: a label feature name, "a*b" (a product), or "" (none)."""
    labels = task_labels(task)
    return list(task.oracle_labels) or [task.oracle_label] + [""] * (len(labels) - 1)


class MultiTaskRankingModel(GardenModel):
    """Subclasses implement call(features, training) -> {task label: logits [B] float32}.

    One sigmoid cross-entropy per task, each on its own label over every example, summed with
    the task config's `loss_weights` (default 1 each) and weighted per example by the
    schema's weight feature when there is one. Tracks the total loss and, per task,
    `<label>_loss` and `<label>_auc`. `task_targets` maps the batch's labels to each task's
    0/1 target (ESMM overrides it: its conversion task learns click * conversion).

    `labels[0]` is the main task: predict_proba returns its probability, which is what
    single-task code (evaluation of `auc`, baselines) reads. Serving returns
    {"<label>_probability": [B] float32} per task unless a subclass says otherwise.
    """
    task = "ranking"
    multitask = True

    def __init__(self, feature_names, task, schema, weight=None, **kwargs):
        super().__init__(feature_names, **kwargs)
        self.labels = task_labels(task)
        for label in self.labels:
            if label not in schema or schema[label].kind != "label":
                raise ConfigError(f"task.labels: {label!r} is not a label feature of the "
                                  f"schema; its labels are "
                                  f"{[s.name for s in schema.of_kind('label')]}")
        self.loss_weights = [float(w) for w in task.loss_weights] or [1.0] * len(self.labels)
        self.weight = weight
        self.task_losses = {label: tf.keras.metrics.Mean(name=f"{label}_loss")
                            for label in self.labels}
        self.task_aucs = {label: tf.keras.metrics.AUC(name=f"{label}_auc", num_thresholds=1000,
                                                      from_logits=True)
                          for label in self.labels}

    @property
    def main_label(self):
        return self.labels[0]

    def task_targets(self, labels):
        """{task label: float32 [B] target} from the batch's label tensors."""
        return {label: tf.cast(labels[label], tf.float32) for label in self.labels}

    def task_loss(self, batch, training):
        features, labels = batch
        logits = self(features, training=training)
        targets = self.task_targets(labels)
        weight = labels[self.weight] if self.weight else None
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        total = 0.0
        for label, loss_weight in zip(self.labels, self.loss_weights):
            logit = tf.cast(logits[label], tf.float32)
            per_example = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets[label],
                                                                  logits=logit)
            loss = tf.nn.compute_average_loss(per_example, sample_weight=weight)
            self.task_losses[label].update_state(loss * replicas)  # as GardenModel._track
            self.task_aucs[label].update_state(targets[label], logit, sample_weight=weight)
            total += loss_weight * loss
        return total

    def task_probabilities(self, features):
        """{task label: probability [B] float32}: what evaluation scores against
        task_targets."""
        return {label: tf.sigmoid(tf.cast(logit, tf.float32))
                for label, logit in self(features, training=False).items()}

    def predict_proba(self, features):
        return self.task_probabilities(features)[self.main_label]

    def serving_outputs(self, features):
        return {f"{label}_probability": p
                for label, p in self.task_probabilities(features).items()}
