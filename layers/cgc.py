"""CGC: Customized Gate Control, one extraction level of PLE (Tang et al., RecSys 2020)."""
import tensorflow as tf

from layers.mlp import MLP


@tf.keras.utils.register_keras_serializable(package="garden")
class CGC(tf.keras.layers.Layer):
    """Task-specific experts beside shared experts, one softmax gate per task.

    For task t with input x_t and the shared input x_s (paper eq. 2-4):
      E_t = [task experts of t on x_t] ++ [shared experts on x_s]
      y_t = sum_i softmax(W_t x_t)_i * E_t[i]
    Task t's gate sees only its own experts and the shared ones, so tasks cannot crowd each
    other's experts (the seesaw the paper sets out to avoid). With output_shared (every level
    of PLE but the last) a shared gate softmax(W_s x_s) over all experts, task-specific and
    shared, also gives the shared input of the next level (eq. 5). Gates are bias-free linear
    maps, their softmax in float32; experts are MLP(expert_units).

    Args:
      num_tasks, num_task_experts, num_shared_experts: tasks, experts per task, shared experts.
      expert_units: hidden units of each expert's MLP; the last is the output width u.
      activation, dropout: of the expert MLPs.
      output_shared: also return the shared gate's output.
    Call(x): x is one tensor [B, d] (the first level: every task and the shared part read it)
    or a list of num_tasks + 1 tensors [B, d] (task inputs in order, then the shared input).
    Returns a list of num_tasks tensors [B, u], plus the shared output [B, u] last when
    output_shared.
    """

    def __init__(self, num_tasks, num_task_experts, num_shared_experts, expert_units,
                 activation="relu", dropout=0.0, output_shared=False, **kwargs):
        super().__init__(**kwargs)
        self.num_tasks = int(num_tasks)
        self.num_task_experts = int(num_task_experts)
        self.num_shared_experts = int(num_shared_experts)
        self.expert_units = [int(u) for u in expert_units]
        self.activation = activation
        self.dropout = float(dropout)
        self.output_shared = bool(output_shared)
        if self.num_tasks < 1 or self.num_task_experts < 0 or self.num_shared_experts < 0 \
                or not self.expert_units:
            raise ValueError("CGC needs num_tasks >= 1, expert counts >= 0 and expert_units")
        if self.num_task_experts + self.num_shared_experts < 1:
            raise ValueError("CGC needs at least one expert per task")
        if self.output_shared and self.num_shared_experts < 1:
            raise ValueError("output_shared needs num_shared_experts >= 1")

        def mlp(name):
            return MLP(self.expert_units, activation=activation, dropout=self.dropout,
                       dtype=self.dtype_policy, name=name)

        self.task_experts = [[mlp(f"task_{t}_expert_{i}") for i in range(self.num_task_experts)]
                             for t in range(self.num_tasks)]
        self.shared_experts = [mlp(f"shared_expert_{i}") for i in range(self.num_shared_experts)]
        per_task = self.num_task_experts + self.num_shared_experts
        self.task_gates = [tf.keras.layers.Dense(per_task, use_bias=False,
                                                 dtype=self.dtype_policy, name=f"task_{t}_gate")
                           for t in range(self.num_tasks)]
        self.shared_gate = tf.keras.layers.Dense(
            self.num_tasks * self.num_task_experts + self.num_shared_experts, use_bias=False,
            dtype=self.dtype_policy, name="shared_gate") if self.output_shared else None

    def call(self, inputs, training=None):
        if isinstance(inputs, (list, tuple)):
            if len(inputs) != self.num_tasks + 1:
                raise ValueError(f"CGC takes {self.num_tasks + 1} inputs (one per task, then "
                                 f"the shared one), got {len(inputs)}")
            task_inputs, shared_input = list(inputs[:-1]), inputs[-1]
        else:
            task_inputs, shared_input = [inputs] * self.num_tasks, inputs
        shared = [e(shared_input, training=training) for e in self.shared_experts]
        own = [[e(x, training=training) for e in experts]
               for experts, x in zip(self.task_experts, task_inputs)]
        outputs = [self._mix(gate, x, experts + shared)
                   for gate, x, experts in zip(self.task_gates, task_inputs, own)]
        if self.output_shared:
            everything = [e for experts in own for e in experts] + shared
            outputs.append(self._mix(self.shared_gate, shared_input, everything))
        return outputs

    @staticmethod
    def _mix(gate, x, experts):
        stacked = tf.stack(experts, axis=1)  # [B, E, u]
        weights = tf.nn.softmax(tf.cast(gate(x), tf.float32), axis=-1)
        return tf.einsum("be,beu->bu", tf.cast(weights, stacked.dtype), stacked)

    def get_config(self):
        config = super().get_config()
        config.update(num_tasks=self.num_tasks, num_task_experts=self.num_task_experts,
                      num_shared_experts=self.num_shared_experts,
                      expert_units=self.expert_units, activation=self.activation,
                      dropout=self.dropout, output_shared=self.output_shared)
        return config
