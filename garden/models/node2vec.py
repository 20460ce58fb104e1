"""node2vec (Grover and Leskovec, KDD 2016) on the item transition graph."""
import dataclasses

from garden.config import check_positive
from garden.models import skipgram
from garden.registry import register_model


@dataclasses.dataclass
class Node2VecConfig(skipgram.WalkConfig):
    p: float = 1.0  # return parameter: weight 1/p to go straight back
    q: float = 0.5  # in-out parameter: weight 1/q to move away from the previous node

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "model", "p", "q")


class Node2Vec(skipgram.ItemTableModel):
    """DeepWalk's weighted walks made second order: after t -> v the next item x is drawn by
    weight(v, x) times 1/p (x = t), 1 (x adjacent to t), 1/q (otherwise), from per-edge alias
    tables (garden.walks). q < 1 leans to depth-first exploration, which the paper found to
    capture communities (homophily), here the categories users browse together."""

    def training_pairs(self, columns, num_items):
        return skipgram.walk_pairs(columns, self.cfg, self.target, num_items, self.cfg.p,
                                   self.cfg.q)


@register_model("node2vec", task="retrieval", config=Node2VecConfig)
def build(schema, task, cfg):
    return Node2Vec(schema, task, cfg)
