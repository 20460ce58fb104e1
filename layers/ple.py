"""PLE: Progressive Layered Extraction (Tang et al., RecSys 2020)."""
import tensorflow as tf

from layers.cgc import CGC


@tf.keras.utils.register_keras_serializable(package="garden")
class PLE(tf.keras.layers.Layer):
    """num_levels CGC extraction levels stacked (paper section 4.3).

    Level 1 reads the input x for every task and for the shared experts; level k reads level
    k-1's task outputs (task t's experts and gate read task t's output) and its shared output
    (the shared experts and the shared gate read it). Every level but the last has a shared
    gate over all its experts; the last returns the task outputs only, which go to the task
    towers. num_levels=1 is CGC alone. Every level has the same expert counts and units.

    Args: as CGC, plus num_levels (>= 1).
    Call(x [B, d]) -> a list of num_tasks tensors [B, expert_units[-1]], in task order.
    """

    def __init__(self, num_tasks, num_levels, num_task_experts, num_shared_experts,
                 expert_units, activation="relu", dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_tasks = int(num_tasks)
        self.num_levels = int(num_levels)
        self.num_task_experts = int(num_task_experts)
        self.num_shared_experts = int(num_shared_experts)
        self.expert_units = [int(u) for u in expert_units]
        self.activation = activation
        self.dropout = float(dropout)
        if self.num_levels < 1:
            raise ValueError(f"PLE needs num_levels >= 1, got {num_levels}")
        self.levels = [CGC(self.num_tasks, self.num_task_experts, self.num_shared_experts,
                           self.expert_units, activation=activation, dropout=self.dropout,
                           output_shared=level < self.num_levels - 1,
                           dtype=self.dtype_policy, name=f"level_{level}")
                       for level in range(self.num_levels)]

    def call(self, inputs, training=None):
        x = inputs
        for level in self.levels:
            x = level(x, training=training)
        return x

    def get_config(self):
        config = super().get_config()
        config.update(num_tasks=self.num_tasks, num_levels=self.num_levels,
                      num_task_experts=self.num_task_experts,
                      num_shared_experts=self.num_shared_experts,
                      expert_units=self.expert_units, activation=self.activation,
                      dropout=self.dropout)
        return config
