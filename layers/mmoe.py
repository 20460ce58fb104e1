"""MMoE: Multi-gate Mixture-of-Experts (Ma et al., KDD 2018)."""
import tensorflow as tf

from layers.mlp import MLP


@tf.keras.utils.register_keras_serializable(package="garden")
class MMoE(tf.keras.layers.Layer):
    """Shared experts, one softmax gate per task.

    f_t(x) = sum_i g_t(x)_i * e_i(x),  g_t(x) = softmax(W_t x)   (paper eq. 5-6)

    Every expert e_i is an MLP(expert_units) over the same input; each task t has its own gate,
    a bias-free linear map W_t to one logit per expert (as in the paper and DeepCTR), so tasks
    that disagree can lean on different experts. The gate softmax runs in float32.

    Args:
      num_tasks, num_experts: number of gates (outputs) and of experts.
      expert_units: hidden units of each expert's MLP; the last is the output width u.
      activation, dropout: of the expert MLPs.
    Call(x [B, d]) -> a list of num_tasks tensors [B, u], one per task, in task order.
    """

    def __init__(self, num_tasks, num_experts, expert_units, activation="relu", dropout=0.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.num_tasks = int(num_tasks)
        self.num_experts = int(num_experts)
        self.expert_units = [int(u) for u in expert_units]
        self.activation = activation
        self.dropout = float(dropout)
        if self.num_tasks < 1 or self.num_experts < 1 or not self.expert_units:
            raise ValueError("MMoE needs num_tasks >= 1, num_experts >= 1 and expert_units")
        self.experts = [MLP(self.expert_units, activation=activation, dropout=self.dropout,
                            dtype=self.dtype_policy, name=f"expert_{i}")
                        for i in range(self.num_experts)]
        self.gates = [tf.keras.layers.Dense(self.num_experts, use_bias=False,
                                            dtype=self.dtype_policy, name=f"gate_{t}")
                      for t in range(self.num_tasks)]

    def call(self, inputs, training=None):
        experts = tf.stack([e(inputs, training=training) for e in self.experts], axis=1)
        outputs = []
        for gate in self.gates:
            weights = tf.nn.softmax(tf.cast(gate(inputs), tf.float32), axis=-1)
            outputs.append(tf.einsum("be,beu->bu", tf.cast(weights, experts.dtype), experts))
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(num_tasks=self.num_tasks, num_experts=self.num_experts,
                      expert_units=self.expert_units, activation=self.activation,
                      dropout=self.dropout)
        return config
