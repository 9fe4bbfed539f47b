"""A TensorFlow-only stand-in for TF Serving's gRPC PredictionService (no TF Serving server installs here):
it loads SavedModels with ``tf.saved_model.load`` and answers ``Predict`` requests by running the asked
signature, as the server does. Clients (``scripts/serving_grpc_client.py``) are tested against it."""

from __future__ import annotations

from concurrent import futures

import grpc
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc


class PredictionStandIn(prediction_service_pb2_grpc.PredictionServiceServicer):
    """Serves ``{model name: SavedModel version directory}``."""

    def __init__(self, models):
        self.models = {name: tf.saved_model.load(path) for name, path in models.items()}

    def Predict(self, request, context):  # noqa: N802  (the gRPC method's name)
        model = self.models.get(request.model_spec.name)
        if model is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Servable not found: {request.model_spec.name}")
        signature = model.signatures[request.model_spec.signature_name or "serving_default"]
        inputs = {name: tf.constant(tf.make_ndarray(proto)) for name, proto in request.inputs.items()}
        reply = predict_pb2.PredictResponse()
        reply.model_spec.CopyFrom(request.model_spec)
        for name, value in signature(**inputs).items():
            reply.outputs[name].CopyFrom(tf.make_tensor_proto(value.numpy()))
        return reply


def serve(models):
    """Start the stand-in on a free local port; returns ``(server, "localhost:PORT")``."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionStandIn(models), server)
    port = server.add_insecure_port("localhost:0")
    server.start()
    return server, f"localhost:{port}"
