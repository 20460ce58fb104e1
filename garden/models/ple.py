"""PLE (Tang et al., RecSys 2020): task-specific and shared experts, progressively extracted."""
import dataclasses
from typing import List

from garden.config import ConfigError, check_positive
from garden.models.multitask_towers import TaskTowers, TowersConfig
from garden.registry import register_model
from layers.ple import PLE as PLELayer


@dataclasses.dataclass
class PLEConfig(TowersConfig):
    num_levels: int = 2  # 1: CGC alone
    num_task_experts: int = 1  # per task and level
    num_shared_experts: int = 1  # per level
    expert_units: List[int] = dataclasses.field(default_factory=lambda: [64])

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "model", "num_levels", "expert_units")
        if self.num_task_experts < 0 or self.num_shared_experts < 0:
            raise ConfigError("model.num_task_experts and model.num_shared_experts must be "
                              f">= 0, got {self.num_task_experts} and {self.num_shared_experts}")
        if self.num_shared_experts < 1 and self.num_levels > 1:
            raise ConfigError("model.num_shared_experts must be >= 1 when model.num_levels > 1 "
                              "(the shared experts carry one level to the next)")
        if self.num_task_experts + self.num_shared_experts < 1:
            raise ConfigError("model.num_task_experts + model.num_shared_experts must be >= 1")


class PLE(TaskTowers):
    """The embedded fields go through num_levels CGC levels (layers/ple.py): per level, each
    task mixes its own experts with the shared ones through its gate, and a shared gate over
    all experts feeds the next level's shared experts; task t's tower reads the last level's
    output for t; one logit per task label."""

    def __init__(self, schema, task, cfg):
        super().__init__(schema, task, cfg)
        self.extraction = PLELayer(len(self.labels), cfg.num_levels, cfg.num_task_experts,
                                   cfg.num_shared_experts, cfg.expert_units,
                                   dropout=cfg.dropout, name="ple")

    def task_inputs(self, x, training):
        return self.extraction(x, training=training)


@register_model("ple", task="ranking", config=PLEConfig)
def build(schema, task, cfg):
    return PLE(schema, task, cfg)
