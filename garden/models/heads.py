"""The retrieval heads a model with an item embedding table can choose (model.head)."""
from garden.config import ConfigError
from layers.full_softmax import FullSoftmax
from layers.nce import NCE
from layers.sampled_softmax import SAMPLERS, SampledSoftmax

TABLE_HEADS = ("sampled_softmax", "nce", "full_softmax")


def check_table_head(cfg):
    """Validates model.head and model.sampler of a config with num_sampled."""
    if cfg.head not in TABLE_HEADS:
        raise ConfigError(f"model.head must be one of {TABLE_HEADS}, got {cfg.head!r}")
    if cfg.sampler not in SAMPLERS:
        raise ConfigError(f"model.sampler must be one of {SAMPLERS}, got {cfg.sampler!r}")


def table_head(cfg, num_items, dim):
    """The head layer cfg.head names: sampled softmax, NCE (both with cfg.num_sampled and
    cfg.sampler) or the full softmax."""
    if cfg.head == "full_softmax":
        return FullSoftmax(num_items, dim, name="head")
    if cfg.num_sampled >= num_items:
        raise ConfigError(f"model.num_sampled ({cfg.num_sampled}) must be below the number "
                          f"of items ({num_items})")
    layer = NCE if cfg.head == "nce" else SampledSoftmax
    return layer(num_items, dim, cfg.num_sampled, cfg.sampler, name="head")


def prepare_unigram(head, schema, train_pattern, item):
    """Gives a unigram sampler its training counts (kept in the head's item_counts weight)."""
    if getattr(head, "sampler", None) == "unigram":
        from garden.evaluate import item_counts  # local: evaluate imports the registry
        head.set_unigram_counts(item_counts(schema, train_pattern, item)[0])
