"""MMoE (Ma et al., KDD 2018): shared experts, a softmax gate and a tower per task."""
import dataclasses
from typing import List

from garden.config import check_positive
from garden.models.multitask_towers import TaskTowers, TowersConfig
from garden.registry import register_model
from layers.mmoe import MMoE as MMoELayer


@dataclasses.dataclass
class MMoEConfig(TowersConfig):
    num_experts: int = 4
    expert_units: List[int] = dataclasses.field(default_factory=lambda: [64])

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "model", "num_experts", "expert_units")


class MMoE(TaskTowers):
    """The embedded fields feed num_experts expert MLPs; task t's tower reads the mix of the
    experts weighted by softmax(W_t x) (layers/mmoe.py); one logit per task label."""

    def __init__(self, schema, task, cfg):
        super().__init__(schema, task, cfg)
        self.experts = MMoELayer(len(self.labels), cfg.num_experts, cfg.expert_units,
                                 dropout=cfg.dropout, name="mmoe")

    def task_inputs(self, x, training):
        return self.experts(x, training=training)


@register_model("mmoe", task="ranking", config=MMoEConfig)
def build(schema, task, cfg):
    return MMoE(schema, task, cfg)
