"""Wide & Deep (Cheng et al., DLRS 2016): a wide linear model and a deep MLP, trained jointly."""
import dataclasses
from typing import List

import tensorflow as tf

from garden.config import ConfigError
from garden.models.fields import DeepConfig, FieldModel, flat_input
from garden.registry import register_model
from layers.linear import Linear
from layers.mlp import MLP

MAX_CROSS_ROWS = 1 << 24  # one float32 weight per crossed id: 64 MiB


@dataclasses.dataclass
class WDLConfig(DeepConfig):
    """DeepConfig (garden/models/fields.py) plus the wide part's cross-product features."""
    # "a:b" crosses two sparse features into one id feature of the wide part (the paper's
    # hand-engineered cross-product transformations); empty: the wide part is plain LR.
    wide_crosses: List[str] = dataclasses.field(default_factory=list)

    def __post_init__(self):
        super().__post_init__()
        for cross in self.wide_crosses:
            parts = cross.split(":")
            if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
                raise ConfigError(f"model.wide_crosses: {cross!r} is not 'feature_a:feature_b' "
                                  "with two different features")


class WideDeep(FieldModel):
    """logit = wide(ids, crosses, dense) + Dense(MLP(field embeddings, dense)).

    The wide part weighs every id, every crossed id pair of `wide_crosses` (id_a * vocab_b +
    id_b, exact, no hashing) and every dense value; the deep part is an MLP over the
    concatenated embeddings and dense values. The paper trains the wide part with FTRL + L1
    and the deep part with AdaGrad; the garden trains both with the experiment's optimizer.
    """

    def __init__(self, schema, task, cfg):
        super().__init__(schema, task, cfg)
        self.crosses = []
        for cross in cfg.wide_crosses:
            a, b = cross.split(":")
            for name in (a, b):
                if name not in schema or schema[name].kind != "sparse":
                    raise ValueError(f"model.wide_crosses: {cross!r}: {name!r} is not a sparse "
                                     "feature of the schema")
            rows = schema.vocab_size(a) * schema.vocab_size(b)
            if rows > MAX_CROSS_ROWS:
                raise ValueError(f"model.wide_crosses: {cross!r} has {rows:,} ids, more than "
                                 f"{MAX_CROSS_ROWS:,}")
            # The id feature's name names its weight table: no ":" in TensorFlow names.
            self.crosses.append((f"{a}_x_{b}", a, b, schema.vocab_size(b), rows))
        self.feature_names = sorted(set(self.feature_names)
                                    | {n for _, a, b, _, _ in self.crosses for n in (a, b)})
        vocab = {f: schema.vocab_size(f) for f in self.ids}
        vocab.update({cross: rows for cross, _, _, _, rows in self.crosses})
        self.wide = Linear(vocab, name="wide")
        self.deep = MLP(cfg.hidden_units, dropout=cfg.dropout, batch_norm=cfg.batch_norm)
        self.logit = tf.keras.layers.Dense(1, dtype="float32", name="logit")

    def call(self, features, training=False):
        dense = self.dense_values(features)
        ids = self.linear_ids(features)
        for cross, a, b, vocab_b, _ in self.crosses:
            ids[cross] = (tf.cast(features[a], tf.int64) * vocab_b
                          + tf.cast(features[b], tf.int64))
        wide = tf.cast(self.wide(ids, dense), tf.float32)
        deep = self.deep(flat_input(self.field_embeddings(features), dense), training=training)
        return tf.squeeze(wide + self.logit(deep), axis=1)


@register_model("wdl", task="ranking", config=WDLConfig)
def build(schema, task, cfg):
    return WideDeep(schema, task, cfg)
