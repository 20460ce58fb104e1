"""DIEN: Deep Interest Evolution Network (Zhou et al., AAAI 2019)."""
import dataclasses

import tensorflow as tf

from garden.config import ConfigError
from garden.models import features as F
from garden.models.behaviour import BehaviourConfig, BehaviourModel
from garden.registry import register_model
from layers.augru import AUGRU
from layers.masking import masked_softmax


@dataclasses.dataclass
class DIENConfig(BehaviourConfig):
    aux_weight: float = 1.0  # alpha of the auxiliary loss; 0 turns it off

    def __post_init__(self):
        super().__post_init__()
        if self.aux_weight < 0:
            raise ConfigError(f"model.aux_weight must be >= 0, got {self.aux_weight}")


class DIEN(BehaviourModel):
    """GRU interest extractor + auxiliary loss, AUGRU interest evolution driven by the target.

    - Interest extractor: a GRU over the behaviours gives the interest states h_t (as wide as a
      behaviour, so that the auxiliary loss can score them by inner products).
    - Auxiliary loss (eq. 5): h_t should predict the next behaviour e_{t+1} against a negative
      e^_{t+1}: -log sigmoid(<h_t, e_{t+1}>) - log(1 - sigmoid(<h_t, e^_{t+1}>)), averaged
      over the valid pairs and added to the click loss with weight aux_weight, in training
      only. The negative is drawn in the graph, uniformly among the valid behaviours of the
      batch (item, category and brand together, so it is a real item at its popularity, as
      the paper's negatives from the impression log); draws equal to the positive are
      dropped.
    - Attention (eq. 6): a_t = softmax_t(h_t W e_a) over valid steps.
    - Interest evolution: AUGRU over h_t with the scores a_t; its final state, the state
      after the last valid behaviour, is the interest vector.
    """

    def __init__(self, schema, task, cfg):
        super().__init__(schema, task, cfg)
        self.extractor = tf.keras.layers.GRU(self.item_dim, return_sequences=True,
                                             name="interest_extractor")
        self.attention_query = tf.keras.layers.Dense(self.item_dim, use_bias=False,
                                                     name="attention")
        self.evolution = AUGRU(self.item_dim, name="interest_evolution")
        self.aux_tracker = tf.keras.metrics.Mean(name="aux_loss")

    def interest(self, query, keys, mask, features, training):
        hidden = self.extractor(keys, mask=mask, training=training)
        hidden = hidden * tf.cast(mask, hidden.dtype)[..., None]
        if training and self.cfg.aux_weight:
            ids = F.recent_events(features, self.behaviours[:1], self.cfg.hist_len)[0]
            aux = self.auxiliary_loss(hidden, keys, mask, ids[self.behaviours[0]])
            self.aux_tracker.update_state(aux)
            self.add_loss(self.cfg.aux_weight * aux)
        scores = tf.einsum("bld,bd->bl", hidden, self.attention_query(query))
        attention = masked_softmax(scores, mask)
        return self.evolution(hidden, attention, mask)

    @staticmethod
    def auxiliary_loss(hidden, keys, mask, ids):
        """Mean next-behaviour log loss of h_t against e_{t+1} and a negative from the batch."""
        pair = mask[:, 1:]  # step t+1 is a behaviour, hence t as well
        valid_keys = tf.boolean_mask(keys, mask)
        valid_ids = tf.boolean_mask(ids, mask)
        count = tf.shape(valid_ids)[0]
        # A zero row at the end keeps the gather valid in a batch without any behaviour.
        valid_keys = tf.concat([valid_keys, tf.zeros_like(keys[:1, 0])], axis=0)
        valid_ids = tf.concat([valid_ids, tf.zeros_like(ids[:1, 0])], axis=0)
        pick = tf.random.uniform(tf.shape(pair), 0, tf.maximum(count, 1), dtype=tf.int32)
        negatives = tf.gather(valid_keys, pick)
        negative_pair = pair & (tf.gather(valid_ids, pick) != ids[:, 1:])
        h = tf.cast(hidden[:, :-1], tf.float32)
        positive_logit = tf.reduce_sum(h * tf.cast(keys[:, 1:], tf.float32), axis=-1)
        negative_logit = tf.reduce_sum(h * tf.cast(negatives, tf.float32), axis=-1)
        total = (tf.reduce_sum(tf.nn.softplus(-positive_logit) * tf.cast(pair, tf.float32))
                 + tf.reduce_sum(tf.nn.softplus(negative_logit)
                                 * tf.cast(negative_pair, tf.float32)))
        return total / tf.maximum(tf.reduce_sum(tf.cast(pair, tf.float32)), 1.0)


@register_model("dien", task="ranking", config=DIENConfig)
def build(schema, task, cfg):
    return DIEN(schema, task, cfg)
