"""item2vec: skip-gram with negative sampling over behaviour sequences (Barkan and
Koenigstein, MLSP 2016)."""
import dataclasses

from garden.models import skipgram
from garden.registry import register_model


@dataclasses.dataclass
class Item2VecConfig(skipgram.SkipGramConfig):
    pass


class Item2Vec(skipgram.ItemTableModel):
    """Pairs: every two events of a user's stream at most `window` apart (each training
    example is one event with the items before it in `sequence`).

    The paper treats a basket as a set (every pair within it); a behaviour stream is ordered,
    so here, as in word2vec, a window bounds the context."""

    def training_pairs(self, columns, num_items):
        seq = self.cfg.sequence
        return skipgram.sequence_pairs(columns[seq], columns[f"{seq}_len"],
                                       columns[self.target], self.cfg.window)


@register_model("item2vec", task="retrieval", config=Item2VecConfig)
def build(schema, task, cfg):
    return Item2Vec(schema, task, cfg)
