"""CrossNetwork: the cross network of DCN (Wang et al., ADKDD 2017) and DCN-V2 (Wang et al.,
WWW 2021)."""
import tensorflow as tf
import tensorflow_recommenders as tfrs

KINDS = ("vector", "matrix", "low_rank")


@tf.keras.utils.register_keras_serializable(package="garden")
class CrossNetwork(tf.keras.layers.Layer):
    """`num_layers` cross layers over x0; every layer keeps x0's width d.

    kind "vector" (DCN): x_{l+1} = x0 * (x_l . w_l) + b_l + x_l, with w_l, b_l in R^d: each
      layer adds one degree of interaction with 2d parameters.
    kind "matrix" (DCN-V2, eq. 1): x_{l+1} = x0 * (W_l x_l + b_l) + x_l, W_l in R^{d x d}.
    kind "low_rank" (DCN-V2, eq. 2): W_l = U_l V_l with rank `projection_dim`.
    "matrix" and "low_rank" are stacks of `tfrs.layers.dcn.Cross` (diag_scale 0, as in the
    paper); "vector", which TFRS lacks, is written here.

    Input [B, d] -> output [B, d] in the compute dtype.
    """

    def __init__(self, num_layers=3, kind="vector", projection_dim=None, **kwargs):
        super().__init__(**kwargs)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if int(num_layers) < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        if kind == "low_rank" and not projection_dim:
            raise ValueError("kind 'low_rank' needs a projection_dim >= 1")
        self.num_layers = int(num_layers)
        self.kind = kind
        self.projection_dim = int(projection_dim) if projection_dim else None
        self.crosses = []
        if kind != "vector":
            rank = self.projection_dim if kind == "low_rank" else None
            self.crosses = [tfrs.layers.dcn.Cross(projection_dim=rank, dtype=self.dtype_policy,
                                                  name=f"cross_{i}")
                            for i in range(self.num_layers)]

    def build(self, input_shape):
        if self.kind == "vector":
            d = int(input_shape[-1])
            self.kernels = [self.add_weight(name=f"kernel_{i}", shape=(d,),
                                            initializer="glorot_uniform")
                            for i in range(self.num_layers)]
            self.biases = [self.add_weight(name=f"bias_{i}", shape=(d,), initializer="zeros")
                           for i in range(self.num_layers)]
        super().build(input_shape)

    def call(self, inputs):
        x0 = x = inputs
        for i in range(self.num_layers):
            if self.kind == "vector":
                scale = tf.reduce_sum(x * self.kernels[i], axis=-1, keepdims=True)  # [B, 1]
                x = x0 * scale + self.biases[i] + x
            else:
                x = self.crosses[i](x0, x)
        return x

    def get_config(self):
        config = super().get_config()
        config.update(num_layers=self.num_layers, kind=self.kind,
                      projection_dim=self.projection_dim)
        return config
