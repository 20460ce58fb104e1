"""Keras callbacks of a training run: progress, step checkpoints, loss and data guards."""
import math
import os
import time

import tensorflow as tf


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or Inf."""


class Progress(tf.keras.callbacks.Callback):
    """Per epoch: examples/second to TensorBoard and a printed line. Epoch-level hooks only,
    so it also runs under ParameterServerStrategy (which has no batch-level callbacks)."""

    def __init__(self, log_dir, batch_size, log=print):
        super().__init__()
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "train"))
        self.batch_size, self.log = batch_size, log
        self.rates = []
        self.steady_start = None  # (global step, time) from which steady_rate() counts
        self.train_end = None

    def step(self):
        """The global step: optimizer updates so far, resumed runs included."""
        return int(self.model.optimizer.iterations.numpy())

    def on_train_begin(self, logs=None):
        if self.train_end is None:  # a resumed run calls fit twice (see garden.train)
            self.train_start = (self.step(), time.time())

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.epoch_start = epoch, (self.step(), time.time())

    def on_epoch_end(self, epoch, logs=None):
        step = self.step()
        seconds = time.time() - self.epoch_start[1]
        rate = (step - self.epoch_start[0]) * self.batch_size / max(seconds, 1e-9)
        self.rates.append(rate)
        with self.writer.as_default():
            tf.summary.scalar("epoch_examples_per_second", rate, step=epoch)
        self.writer.flush()
        metrics = "  ".join(f"{k} {float(v):.4f}" for k, v in (logs or {}).items())
        self.log(f"epoch {epoch + 1} done in {seconds:.1f}s  {metrics}  {rate:,.0f} ex/s")
        self.train_end = (step, time.time())

    def steady_rate(self):
        """Training examples/second, after tracing and the shuffle buffer's first fill where
        the run logged enough steps to leave them out; else over the whole run."""
        if self.train_end is None:
            return None
        start = self.steady_start if self.steady_start and \
            self.train_end[0] > self.steady_start[0] else self.train_start
        steps, seconds = self.train_end[0] - start[0], self.train_end[1] - start[1]
        return steps * self.batch_size / seconds if steps > 0 and seconds > 0 else None


class StepProgress(Progress):
    """Progress plus, every `every` steps, an examples/second point in TensorBoard and (when
    stdout is not a terminal, where Keras draws its own bar) a printed line."""

    def __init__(self, log_dir, batch_size, every, print_lines, log=print):
        super().__init__(log_dir, batch_size, log)
        self.every, self.print_lines = every, print_lines
        self.last_logged = None

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        if self.last_logged is None:
            self.last_logged = self.epoch_start

    def on_train_batch_end(self, batch, logs=None):
        step = self.step()
        if step - self.last_logged[0] < self.every:
            return
        now = time.time()
        rate = (step - self.last_logged[0]) * self.batch_size / max(now - self.last_logged[1],
                                                                    1e-9)
        with self.writer.as_default():
            tf.summary.scalar("examples_per_second", rate, step=step)
        if self.print_lines:
            metrics = "  ".join(f"{k} {float(v):.4f}" for k, v in (logs or {}).items())
            self.log(f"epoch {self.epoch + 1} step {step}  {metrics}  {rate:,.0f} ex/s")
        self.last_logged = (step, now)
        if self.steady_start is None:
            self.steady_start = (step, now)


class StopOnNonFiniteLoss(tf.keras.callbacks.Callback):
    """Raises TrainingDiverged as soon as the logged loss is NaN or Inf.

    Keras logs the running mean of the epoch's loss, so one bad step keeps it non-finite and
    the check cannot miss it. It runs before the checkpointer (order in the callback list), so
    the weights of a diverged step are never saved: the last checkpoint is the last good one.
    """

    def __init__(self, manager):
        super().__init__()
        self.manager = manager
        self.last_good = 0

    def _check(self, logs):
        step = int(self.model.optimizer.iterations.numpy())
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise TrainingDiverged(
                f"the training loss became {float(loss)} between step {self.last_good} and "
                f"step {step}; stopped without exporting. The last good checkpoint is "
                f"{self.manager.latest_checkpoint or '(none yet)'}: lower the learning rate "
                "or check the data before resuming from it.")
        self.last_good = step

    def on_epoch_end(self, epoch, logs=None):
        self._check(logs)


class StepStopOnNonFiniteLoss(StopOnNonFiniteLoss):
    """StopOnNonFiniteLoss checked after every step execution too (batch-level hooks, which
    ParameterServerStrategy does not allow)."""

    def on_train_batch_end(self, batch, logs=None):
        self._check(logs)


class Checkpointer(tf.keras.callbacks.Callback):
    """Saves model, optimizer, finished epochs and the stream position (batches consumed)
    at the end of every epoch (StepCheckpointer: every `every_steps` steps too), numbered by the global step; a
    restarted run resumes from the latest (garden.train)."""

    def __init__(self, manager, epoch_var, position, every_steps):
        super().__init__()
        self.manager, self.epoch_var, self.position = manager, epoch_var, position
        self.every_steps = every_steps

    def _step(self):
        return int(self.model.optimizer.iterations.numpy())

    def _save(self):
        step = self._step()
        self.position.assign(self.start_position + step - self.start_step)
        if step != self.last_saved:
            self.manager.save(checkpoint_number=step)
            self.last_saved = step

    def on_train_begin(self, logs=None):
        self.start_step = self.last_saved = self._step()
        self.start_position = int(self.position.numpy())

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_var.assign(epoch + 1)
        self._save()


class StepCheckpointer(Checkpointer):
    """Checkpointer that also saves every `every_steps` steps (batch-level hooks, which
    ParameterServerStrategy does not allow)."""

    def on_train_batch_end(self, batch, logs=None):
        if self._step() - self.last_saved >= self.every_steps:
            self._save()


class DataReport(tf.keras.callbacks.Callback):
    """After every epoch: the input pipeline's counts of OOV ids and NaN/Inf values
    (input.integrity.DataCounters) to TensorBoard (train/data/...) and, when new, the log."""

    def __init__(self, counters, log_dir, log=print):
        super().__init__()
        self.counters, self.log = counters, log
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "train"))
        self.reported = {}

    def on_epoch_end(self, epoch, logs=None):
        values = self.counters.values()
        with self.writer.as_default():
            for key, value in values.items():
                tf.summary.scalar(f"data/{key}", value, step=epoch)
        self.writer.flush()
        if values != self.reported:
            self.log("input: " + ", ".join(f"{k} {v:,}" for k, v in sorted(values.items()))
                     + " (OOV ids read as row 0; NaN/Inf handled as the schema says)")
            self.reported = values
