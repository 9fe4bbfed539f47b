"""Draw samples from a kgen export served by TF Serving, over gRPC, and save them as a PNG grid.

    pip install tensorflow-serving-api   # the gRPC stubs (and TensorFlow, for the tensor protos)
    python scripts/serving_grpc_client.py --server localhost:8500 --model fashion_gan --n 64 --seed 1 --out grid.png

It calls the ``sample_images`` signature (``n``, ``seed`` → uint8 ``images``; add ``--label C`` for a
class-conditional export). Nothing of kgen is needed on the client.
"""

from __future__ import annotations

import argparse

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc


def sample(server, model, n, seed, label=None, timeout=60.0):
    """``n`` uint8 images ``[n, H, W, C]`` of the export ``model`` served at ``server`` (host:port)."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = "sample_images"
    request.inputs["n"].CopyFrom(tf.make_tensor_proto(n, dtype=tf.int32))
    request.inputs["seed"].CopyFrom(tf.make_tensor_proto(seed, dtype=tf.int64))
    if label is not None:
        request.inputs["label"].CopyFrom(tf.make_tensor_proto(label, dtype=tf.int32))
    with grpc.insecure_channel(server) as channel:
        reply = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout)
    return tf.make_ndarray(reply.outputs["images"])


def save_grid(images, path):
    """A square-ish PNG grid of uint8 images (grayscale or RGB) with matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n, height, width, channels = images.shape
    cols = int(np.ceil(np.sqrt(n)))
    rows = -(-n // cols)
    grid = np.zeros((rows * height, cols * width, channels), np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        grid[r * height:(r + 1) * height, c * width:(c + 1) * width] = image
    plt.imsave(path, grid[..., 0] if channels == 1 else grid, cmap="gray", vmin=0, vmax=255)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="localhost:8500", help="TF Serving's gRPC address")
    parser.add_argument("--model", required=True, help="the --model_name the server was started with")
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label", type=int, help="class to draw (class-conditional exports)")
    parser.add_argument("--out", default="grid.png")
    args = parser.parse_args()
    images = sample(args.server, args.model, args.n, args.seed, args.label)
    save_grid(images, args.out)
    print(f"{images.shape[0]} images {images.shape[1:]} from {args.model} at {args.server} → {args.out}")


if __name__ == "__main__":
    main()
