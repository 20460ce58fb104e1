"""DIN: Deep Interest Network (Zhou et al., KDD 2018)."""
import dataclasses
from typing import List

from garden.config import check_positive
from garden.models.behaviour import BehaviourConfig, BehaviourModel
from garden.registry import register_model
from layers.local_activation_unit import LocalActivationUnit


@dataclasses.dataclass
class DINConfig(BehaviourConfig):
    activation: str = "dice"
    attention_units: List[int] = dataclasses.field(default_factory=lambda: [80, 40])
    attention_activation: str = "dice"

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "model", "attention_units")


class DIN(BehaviourModel):
    """interest = sum_j w_j e_j with w_j from the local activation unit on (candidate, e_j).

    The weights are not normalized, as in the paper: a history with many behaviours like the
    candidate gives a larger interest vector. Dice in the attention MLP and in the output MLP.
    """

    def __init__(self, schema, task, cfg):
        super().__init__(schema, task, cfg)
        self.attention = LocalActivationUnit(cfg.attention_units, cfg.attention_activation)

    def interest(self, query, keys, mask, features, training):
        return self.attention(query, keys, mask, training=training)


@register_model("din", task="ranking", config=DINConfig)
def build(schema, task, cfg):
    return DIN(schema, task, cfg)
