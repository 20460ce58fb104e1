"""DeepWalk (Perozzi et al., KDD 2014) on the item transition graph."""
import dataclasses

from garden.models import skipgram
from garden.registry import register_model


@dataclasses.dataclass
class DeepWalkConfig(skipgram.WalkConfig):
    pass


class DeepWalk(skipgram.ItemTableModel):
    """Skip-gram over weighted random walks: the graph has an edge u -> v weighted by how
    often v followed u (the last item of `sequence` before each training target); a walk
    moves along out-edges with probability proportional to their weight (the weighted walk
    of EGES's first stage; the DeepWalk paper walks unweighted graphs)."""

    def training_pairs(self, columns, num_items):
        return skipgram.walk_pairs(columns, self.cfg, self.target, num_items)


@register_model("deepwalk", task="retrieval", config=DeepWalkConfig)
def build(schema, task, cfg):
    return DeepWalk(schema, task, cfg)
