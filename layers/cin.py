"""CIN: the compressed interaction network of xDeepFM (Lian et al., KDD 2018)."""
import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="garden")
class CIN(tf.keras.layers.Layer):
    """Explicit vector-wise interactions of bounded degree, one degree more per layer.

    With X^0 the field embeddings [B, m, D], layer k computes H_k feature maps
        X^k_{h,*} = act( sum_{i < H_{k-1}} sum_{j < m} W^k_{h,i,j} (X^{k-1}_{i,*} o X^0_{j,*}) )
    (o: the element-wise product over the embedding dimension D), so every map of layer k is a
    degree-(k+1) polynomial of the embeddings. Direct connections: each layer's maps are
    sum-pooled over D and the pooled values of all layers are concatenated into the output.

    split_half (the paper's code, `direct=False` there, and DeepCTR's default): every layer but
    the last sends its first half of maps on to the next layer and its second half to the
    output; so those sizes must be even. Without it (the paper's text), every map goes both
    ways. The paper's equation has no activation and no bias (`activation="linear"`,
    `use_bias=False`, the defaults here; its code makes both settings); DeepCTR uses relu and
    a bias per map, both available as arguments.

    Computation: the layer works in a [B, D, fields] layout (one matmul per layer over the
    flattened (i, j) pairs). With the linear activation, the maps that only go to the output
    (the last layer's, and the second halves under split_half) are computed after the sum
    over D, which is exact (sum_d and W^k commute) and D times cheaper: W^k applied to the
    [B, H_{k-1}, m] matrix sum_d X^{k-1}_{i,d} X^0_{j,d}. Other activations need every map
    at every d, as DeepCTR computes them.

    Args:
      layer_sizes: feature maps H_k per layer, e.g. [128, 128].
      split_half: as above.
      activation: Keras activation applied to each layer's maps.
      use_bias: a bias per feature map.
      l2: L2 penalty on the interaction weights.
    Input [B, m, D] (no mask: fields are always present) -> output [B, output_dim] with
    output_dim = sum(H_k // 2 for all layers but the last) + H_last under split_half, else
    sum(H_k).
    """

    def __init__(self, layer_sizes, split_half=True, activation="linear", use_bias=False,
                 l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.layer_sizes = [int(s) for s in layer_sizes]
        if not self.layer_sizes or min(self.layer_sizes) < 1:
            raise ValueError(f"layer_sizes must be a non-empty list of positive ints, got "
                             f"{layer_sizes}")
        self.split_half = bool(split_half)
        if self.split_half and any(s % 2 for s in self.layer_sizes[:-1]):
            raise ValueError(f"layer_sizes {self.layer_sizes}: with split_half every layer but "
                             f"the last needs an even number of feature maps")
        self.activation = activation
        self.use_bias = bool(use_bias)
        self.l2 = float(l2)
        self.activation_layer = tf.keras.layers.Activation(activation, dtype=self.dtype_policy)
        self._linear = tf.keras.activations.get(activation) is tf.keras.activations.linear

    @property
    def output_dim(self):
        if not self.split_half:
            return sum(self.layer_sizes)
        return sum(s // 2 for s in self.layer_sizes[:-1]) + self.layer_sizes[-1]

    def build(self, input_shape):
        num_fields = int(input_shape[1])
        regularizer = tf.keras.regularizers.l2(self.l2) if self.l2 else None
        self.kernels, self.biases = [], []
        previous = num_fields
        for k, size in enumerate(self.layer_sizes):
            # W^k as a [H_{k-1} * m, H_k] matrix over the flattened (i, j) pairs.
            self.kernels.append(self.add_weight(
                name=f"kernel_{k}", shape=(previous * num_fields, size),
                initializer="glorot_uniform", regularizer=regularizer))
            if self.use_bias:
                self.biases.append(self.add_weight(name=f"bias_{k}", shape=(size,),
                                                   initializer="zeros"))
            last = k == len(self.layer_sizes) - 1
            previous = size // 2 if self.split_half and not last else size
        super().build(input_shape)

    def call(self, inputs):
        # Layout [B, D, fields]: the map dimension stays last, so every contraction is one
        # plain matmul over the flattened (i, j) pairs with no transposes of the big tensors.
        x0 = tf.transpose(inputs, [0, 2, 1])  # [B, D, m]
        batch, dim, num_fields = tf.shape(x0)[0], tf.shape(x0)[1], x0.shape[2]
        hidden, pooled = x0, []
        for k, size in enumerate(self.layer_sizes):
            kernel = tf.cast(self.kernels[k], x0.dtype)  # [H_{k-1} * m, H_k]
            bias = tf.cast(self.biases[k], x0.dtype) if self.use_bias else None
            last = k == len(self.layer_sizes) - 1
            on = size // 2 if self.split_half and not last else size  # maps sent on
            if self._linear and (last or self.split_half):
                # No activation: sum_d commutes with W^k, so the maps that are only pooled
                # are W^k applied to sum_d (X^{k-1}_i o X^0_j), a [B, H_{k-1}, m] batched
                # matmul, instead of W^k at every d (D times fewer multiply-adds).
                direct = slice(0, size) if last else slice(on, size)
                gram = tf.matmul(hidden, x0, transpose_a=True)  # [B, H_{k-1}, m]
                gram = tf.reshape(gram, [batch, hidden.shape[2] * num_fields])
                out = tf.matmul(gram, kernel[:, direct])
                if bias is not None:
                    out += tf.cast(dim, out.dtype) * bias[direct]
                pooled.append(out)
                if not last:
                    hidden = self._maps(hidden, x0, kernel[:, :on], bias, on)
            else:
                maps = self._maps(hidden, x0, kernel, bias, size)  # [B, D, H_k]
                if on < size:
                    hidden, direct = maps[:, :, :on], maps[:, :, on:]
                else:
                    hidden = direct = maps
                pooled.append(tf.reduce_sum(direct, axis=1))
        return tf.concat(pooled, axis=1)

    def _maps(self, hidden, x0, kernel, bias, size):
        """act(W [X^{k-1}_i o X^0_j] + b) at every d: [B, D, size] (kernel's first columns)."""
        batch, dim = tf.shape(x0)[0], tf.shape(x0)[1]
        # All products X^{k-1}_i o X^0_j: [B, D, H_{k-1}, m] -> [B * D, H_{k-1} * m].
        z = hidden[:, :, :, None] * x0[:, :, None, :]
        z = tf.reshape(z, [-1, hidden.shape[2] * x0.shape[2]])
        maps = tf.matmul(z, kernel)
        if bias is not None:
            maps += bias[:size]
        return tf.reshape(self.activation_layer(maps), [batch, dim, size])

    def get_config(self):
        config = super().get_config()
        config.update(layer_sizes=self.layer_sizes, split_half=self.split_half,
                      activation=self.activation, use_bias=self.use_bias, l2=self.l2)
        return config
