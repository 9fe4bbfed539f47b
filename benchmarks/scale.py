"""Training throughput of one model under each tf.distribute strategy and precision (issue 6's table).

    .venv/bin/python benchmarks/scale.py [--model gan --arch dcgan] [--steps 40] [--repeats 3]

prints one JSON line per configuration: one device (float32 and mixed_bfloat16), mirrored over two
logical CPU devices, and two local workers on 127.0.0.1 (MultiWorkerMirroredStrategy); images/s is the
global batch × steps / seconds, median over repeats, after a warm-up of 5 steps. Each configuration
runs in its own process (logical devices and collectives must be set up before TensorFlow starts).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time


def measure(args):
    """Run in a child process: train ``args.steps`` steps ``args.repeats`` times; print a JSON line."""
    import tensorflow as tf

    if args.mode == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from kgen.data import load_epochs
    from kgen.run.config import RunConfig
    from kgen.training.distribute import distribute_dataset, make_strategy
    from kgen.training.fit import build_model
    from kgen.training.loop import distributed_step

    strategy = make_strategy({"one": "auto", "mirrored": "mirrored", "worker": "multi_worker"}[args.mode])
    config = RunConfig(model=args.model, arch=args.arch, batch_size=args.batch_size, precision=args.precision)
    value_range = (0.0, 1.0) if args.model == "vae" else (-1.0, 1.0)
    pipeline, info = load_epochs("fashion_mnist", args.batch_size, value_range, limit=args.batch_size * 200)
    model = build_model(config, info.image_shape, strategy)
    if strategy is tf.distribute.get_strategy():
        model.make_train_function()
        step = model.train_function
    else:
        step = distributed_step(model, strategy)
    iterator = iter(distribute_dataset(strategy, pipeline.epoch(0).repeat()))
    for _ in range(5):
        float(step(iterator)[next(iter(model.metrics)).name])
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for _ in range(args.steps):
            logs = step(iterator)
        float(logs[next(iter(model.metrics)).name])  # wait for the last step
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    print(json.dumps({"model": f"{args.model}/{args.arch}", "mode": args.mode, "precision": args.precision,
                      "replicas": strategy.num_replicas_in_sync, "global_batch": args.batch_size,
                      "images_per_s": round(args.batch_size * args.steps / seconds, 1),
                      "ms_per_step": round(1000 * seconds / args.steps, 1), "repeats": args.repeats}))


def child(args, mode, precision, env=None):
    command = [sys.executable, __file__, "--child", mode, "--precision", precision, "--model", args.model,
               "--arch", args.arch, "--steps", str(args.steps), "--repeats", str(args.repeats),
               "--batch-size", str(args.batch_size)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {})))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="gan")
    parser.add_argument("--arch", default="dcgan")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--child", dest="mode", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        return measure(args)
    for mode, precision in (("one", "float32"), ("one", "mixed_bfloat16"), ("mirrored", "float32")):
        print(child(args, mode, precision).communicate()[0].strip(), flush=True)
    sockets = [socket.socket() for _ in range(2)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    workers = [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
    for s in sockets:
        s.close()
    processes = [child(args, "worker", "float32", {"TF_CONFIG": json.dumps(
        {"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})}) for i in range(2)]
    print(processes[0].communicate()[0].strip(), flush=True)
    processes[1].communicate()


if __name__ == "__main__":
    main()
