"""GardenModel: the Keras model every garden model derives from."""
import tensorflow as tf
from tf_keras.src.engine.training import reduce_per_replica


class GardenModel(tf.keras.Model):
    """A Keras model whose training step calls `task_loss(batch, training)`.

    Subclasses set `task` ("ranking" or "retrieval"), `feature_names` (the input features they
    read, which is all a serving request must carry), implement `task_loss` (updating their
    metrics) and `serving_outputs(features)` (a dict of float32/int tensors for export).
    Losses are averaged over the global batch (tf.nn.compute_average_loss), so they stay right
    under any distribution strategy.
    """
    task = None

    def __init__(self, feature_names, **kwargs):
        super().__init__(**kwargs)
        self.feature_names = sorted(feature_names)
        self.loss_tracker = tf.keras.metrics.Mean(name="loss")

    def compile(self, optimizer="rmsprop", *args, **kwargs):
        """Keras compile; with an optimizer that updates embedding tables densely (the
        garden's Adam), the layers that look rows up read their tables densely (see
        layers/table_lookup.table_source: a sparse read would make every update copy the
        table)."""
        super().compile(optimizer, *args, **kwargs)
        dense = getattr(self.optimizer, "updates_tables_densely", False)
        for module in self.submodules:
            if hasattr(module, "dense_table_reads"):
                module.dense_table_reads = dense

    @property
    def training_features(self):
        """The features a training or evaluation step reads, which is all garden.train
        parses (labels and weights come with every batch): feature_names by default."""
        return self.feature_names

    def prepare(self, train_pattern):
        """Called once by garden.train before training, with the glob of the training
        TFRecords: a model that needs statistics of its data (item frequencies for a sampler,
        a transition graph for random walks) computes them here. Anything evaluation or
        export needs must be stored in (non-trainable) variables, so that it is checkpointed
        and restored with the weights. The default does nothing."""

    def task_loss(self, batch, training):
        raise NotImplementedError

    def serving_outputs(self, features):
        raise NotImplementedError

    def build_for_training(self, batch):
        """Creates every variable a training step uses (the model's, its loss's and the
        optimizer's slots) from one batch, changing none of them: fit then traces its train
        step once, where a first trace that creates variables is traced a second time. Call
        it after compile."""
        self._total_loss(batch, training=False)
        self.optimizer.build(self.trainable_variables)

    def _total_loss(self, batch, training):
        loss = self.task_loss(batch, training=training)
        if self.losses:
            loss += tf.nn.scale_regularization_loss(tf.add_n(self.losses))
        return loss

    def _track(self, loss):
        # Each replica's loss is its share of the global-batch mean; times the replica count
        # it is that replica's own mean, which the Mean metric then averages over replicas.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        self.loss_tracker.update_state(loss * replicas)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, batch):
        with tf.GradientTape() as tape:
            loss = self._total_loss(batch, training=True)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return self._track(loss)

    def make_train_function(self, force=False):
        """Keras's, except for several steps per call without a cluster coordinator.

        There Keras's loop first defines the step's outputs inside the loop, so AutoGraph
        traces the whole train step twice (once only to learn the outputs' structure), and
        tracing is most of a short run's start-up. Here the loop carries nothing: the step's
        outputs are the metrics' results, read once after the loop, in replica context and
        reduced as Keras reduces them. The same updates and outputs, one trace."""
        if self.train_function is not None and not force:
            return self.train_function
        if (self._cluster_coordinator or self.run_eagerly or self.autotune_steps_per_execution
                or self._steps_per_execution is None
                or int(self._steps_per_execution.numpy()) == 1):
            return super().make_train_function(force)

        def run_step(batch):
            outputs = self.train_step(batch)
            with tf.control_dependencies(tf.nest.flatten(outputs)):
                self._train_counter.assign_add(1)
        if self.jit_compile:
            run_step = tf.function(run_step, jit_compile=True, reduce_retracing=True,
                                   autograph=False)

        def step(i, iterator):
            self.distribute_strategy.run(run_step, args=(next(iterator),))
            return i + 1

        def train_function(iterator):
            tf.while_loop(lambda i: i < self._steps_per_execution, lambda i: step(i, iterator),
                          [tf.constant(0, tf.int64)])
            outputs = self.distribute_strategy.run(
                lambda: {m.name: m.result() for m in self.metrics})
            return reduce_per_replica(outputs, self.distribute_strategy,
                                      reduction=self.distribute_reduction_method)

        # No AutoGraph: the garden's graph code has no Python control flow on tensors, and
        # converting every layer's source costs seconds in each fresh process.
        self.train_tf_function = tf.function(train_function, reduce_retracing=True,
                                             autograph=False)
        self.train_function = self.train_tf_function
        return self.train_function

    def test_step(self, batch):
        return self._track(self._total_loss(batch, training=False))
