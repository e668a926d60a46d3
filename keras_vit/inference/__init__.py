"""Using a trained model on images: `predict` (top-k classes per image) and `evaluate` (accuracy on a data
source), for a model object or any artifact (`.keras`, SavedModel folder, `.tflite`, `.onnx`)."""

from keras_vit.inference.evaluate import evaluate
from keras_vit.inference.images import find_images, load_images
from keras_vit.inference.predict import predict
from keras_vit.inference.runner import Runner, open_runner

__all__ = ["Runner", "evaluate", "find_images", "load_images", "open_runner", "predict"]
