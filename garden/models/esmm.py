"""ESMM (Ma et al., SIGIR 2018): CVR learned over the entire impression space."""
import dataclasses
from typing import List

import tensorflow as tf

from garden.config import ConfigError
from garden.models.multitask_towers import TaskTowers, TowersConfig
from garden.registry import register_model


@dataclasses.dataclass
class ESMMConfig(TowersConfig):
    tower_units: List[int] = dataclasses.field(default_factory=lambda: [128, 64])


def ctcvr_logit(ctr_logit, cvr_logit):
    """logit(sigmoid(a) * sigmoid(b)) = -log(e^-a + e^-b + e^-(a+b)), computed stably.

    (1 + e^-a)(1 + e^-b) = 1 + e^-a + e^-b + e^-(a+b), so sigmoid of the result is the
    product; as a logit, the pCTCVR loss is an ordinary sigmoid cross-entropy that stays
    finite when the product underflows.
    """
    return -tf.reduce_logsumexp(tf.stack([-ctr_logit, -cvr_logit, -ctr_logit - cvr_logit],
                                         axis=-1), axis=-1)


class ESMM(TaskTowers):
    """Two towers over the same field embeddings: pCTR = p(click | impression) and
    pCVR = p(conversion | click, impression); pCTCVR = pCTR * pCVR.

    task.labels = [click label, conversion label]. The losses are the paper's eq. 3: cross
    entropy of pCTR against click and of pCTCVR against click * conversion, both over every
    impression; pCVR gets no loss of its own, so it is never fitted on the clicked sample
    only (the sample selection bias ESMM removes) and the sparse conversion signal reaches
    the embeddings through the CTCVR product. The towers read the embedding directly, as in
    the paper (no shared hidden layer).

    call -> {click: CTR logit, conversion: CTCVR logit}, so evaluation scores pCTCVR against
    click * conversion over impressions. Serving returns ctr, cvr and ctcvr.
    """

    def __init__(self, schema, task, cfg):
        super().__init__(schema, task, cfg)
        if len(self.labels) != 2:
            raise ConfigError(f"esmm needs task.labels = [click label, conversion label], got "
                              f"{self.labels}")
        self.click_label, self.conversion_label = self.labels

    def task_inputs(self, x, training):
        return [x, x]

    def task_targets(self, labels):
        click = tf.cast(labels[self.click_label], tf.float32)
        return {self.click_label: click,
                self.conversion_label: click * tf.cast(labels[self.conversion_label],
                                                       tf.float32)}

    def call(self, features, training=False):
        towers = self.tower_logits(features, training)
        ctr, cvr = towers[self.click_label], towers[self.conversion_label]
        return {self.click_label: ctr, self.conversion_label: ctcvr_logit(ctr, cvr)}

    def serving_outputs(self, features):
        towers = self.tower_logits(features, training=False)
        ctr = tf.sigmoid(towers[self.click_label])
        cvr = tf.sigmoid(towers[self.conversion_label])
        return {"ctr": ctr, "cvr": cvr, "ctcvr": ctr * cvr}


@register_model("esmm", task="ranking", config=ESMMConfig)
def build(schema, task, cfg):
    return ESMM(schema, task, cfg)
