"""RankingModel: binary click-style prediction trained with log loss."""
import tensorflow as tf

from garden.tasks.base import GardenModel


class RankingModel(GardenModel):
    """Subclasses implement call(features, training) -> logits [B] (float32).

    Trained with sigmoid cross-entropy on `label`, weighted by the schema's weight feature when
    there is one; tracks loss and AUC. Serving returns {"probability": [B] float32}.
    """
    task = "ranking"

    def __init__(self, feature_names, label, weight=None, **kwargs):
        super().__init__(feature_names, **kwargs)
        self.label = label
        self.weight = weight
        self.auc = tf.keras.metrics.AUC(name="auc", num_thresholds=1000, from_logits=True)

    def task_loss(self, batch, training):
        features, labels = batch
        logits = tf.cast(self(features, training=training), tf.float32)
        y = tf.cast(labels[self.label], tf.float32)
        weight = labels[self.weight] if self.weight else None
        per_example = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits)
        self.auc.update_state(y, logits, sample_weight=weight)
        return tf.nn.compute_average_loss(per_example, sample_weight=weight)

    def predict_proba(self, features):
        return tf.sigmoid(tf.cast(self(features, training=False), tf.float32))

    def serving_outputs(self, features):
        return {"probability": self.predict_proba(features)}


def weight_feature(schema):
    """The schema's per-example weight feature, if it has exactly one."""
    weights = schema.of_kind("weight")
    if len(weights) > 1:
        raise ValueError(f"the schema has several weight features {[w.name for w in weights]}")
    return weights[0].name if weights else None
