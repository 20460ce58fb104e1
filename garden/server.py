"""A parameter-server or worker task of a parameter-server cluster.

    TF_CONFIG='{"cluster": {...}, "task": {"type": "ps", "index": 0}}' python -m garden.server

Parameter-server training runs `python -m garden.train --strategy=parameter_server` on the
chief (the coordinator, which owns the training loop, evaluation and export) and this module on
every worker and ps task: it serves until the process is stopped.
"""
import json
import os
import sys

import garden  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import tensorflow as tf  # noqa: E402


def main():
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        sys.exit("garden.server: TF_CONFIG is not set")
    config = json.loads(raw)
    task = config.get("task", {})
    if task.get("type") not in ("ps", "worker"):
        sys.exit(f"garden.server runs 'ps' and 'worker' tasks; TF_CONFIG says {task!r} "
                 "(run garden.train on the chief)")
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    server = tf.distribute.Server(resolver.cluster_spec(), job_name=resolver.task_type,
                                  task_index=resolver.task_id, protocol="grpc", start=True)
    print(f"garden.server: {resolver.task_type}:{resolver.task_id} serving at "
          f"{server.target}", flush=True)
    server.join()


if __name__ == "__main__":
    main()
