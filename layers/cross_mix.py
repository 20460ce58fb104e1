"""CrossMix: the mixture of low-rank cross experts of DCN-Mix (Wang et al., WWW 2021, "DCN V2:
Improved Deep & Cross Network", eq. 3-4)."""
import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="garden")
class CrossMix(tf.keras.layers.Layer):
    """`num_layers` cross layers, each a gated mixture of `num_experts` low-rank experts:

        E_e(x_l) = x0 * (U_e g(C_e g(V_e^T x_l)) + b_l)
        x_{l+1}  = sum_e G_e(x_l) E_e(x_l) + x_l

    with V_e, U_e^T in R^{d x r} (r = projection_dim), C_e in R^{r x r}, g = `activation`,
    and gates G(x_l) = softmax(x_l W_g + b_g) over the experts. The paper leaves g and the
    gate open ("e.g. sigmoid or softmax"); the garden follows DeepCTR's CrossNetMix: tanh and
    a softmax gate (computed in float32), with the bias b_l shared by a layer's experts.

    Input [B, d] -> output [B, d] in the compute dtype.
    """

    def __init__(self, num_layers=2, num_experts=4, projection_dim=32, activation="tanh",
                 **kwargs):
        super().__init__(**kwargs)
        for key, value in (("num_layers", num_layers), ("num_experts", num_experts),
                           ("projection_dim", projection_dim)):
            if int(value) < 1:
                raise ValueError(f"{key} must be >= 1, got {value}")
        self.num_layers = int(num_layers)
        self.num_experts = int(num_experts)
        self.projection_dim = int(projection_dim)
        self.activation = activation
        self.activation_fn = tf.keras.activations.get(activation)

    def build(self, input_shape):
        d, e, r = int(input_shape[-1]), self.num_experts, self.projection_dim
        self.v, self.c, self.u, self.bias, self.gate_kernel, self.gate_bias = ([] for _ in
                                                                               range(6))
        for i in range(self.num_layers):
            self.v.append(self.add_weight(name=f"v_{i}", shape=(e, d, r),
                                          initializer="glorot_uniform"))
            self.c.append(self.add_weight(name=f"c_{i}", shape=(e, r, r),
                                          initializer="glorot_uniform"))
            self.u.append(self.add_weight(name=f"u_{i}", shape=(e, r, d),
                                          initializer="glorot_uniform"))
            self.bias.append(self.add_weight(name=f"bias_{i}", shape=(d,),
                                             initializer="zeros"))
            self.gate_kernel.append(self.add_weight(name=f"gate_kernel_{i}", shape=(d, e),
                                                    initializer="glorot_uniform"))
            self.gate_bias.append(self.add_weight(name=f"gate_bias_{i}", shape=(e,),
                                                  initializer="zeros"))
        super().build(input_shape)

    def call(self, inputs):
        g = self.activation_fn
        x0 = x = inputs
        for i in range(self.num_layers):
            low = g(tf.einsum("bd,edr->ber", x, self.v[i]))  # [B, E, r]
            low = g(tf.einsum("ber,ers->bes", low, self.c[i]))  # [B, E, r]
            experts = x0[:, None, :] * (tf.einsum("ber,erd->bed", low, self.u[i])
                                        + self.bias[i])  # [B, E, d]
            gate_logits = tf.matmul(x, self.gate_kernel[i]) + self.gate_bias[i]
            gates = tf.nn.softmax(tf.cast(gate_logits, tf.float32), axis=-1)  # [B, E]
            x = tf.reduce_sum(tf.cast(gates, x.dtype)[:, :, None] * experts, axis=1) + x
        return x

    def get_config(self):
        config = super().get_config()
        config.update(num_layers=self.num_layers, num_experts=self.num_experts,
                      projection_dim=self.projection_dim, activation=self.activation)
        return config
