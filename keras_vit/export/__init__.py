"""Export to TF SavedModel, TFLite (fp32, float16, dynamic, int8) and ONNX, each checked
against the Keras model.

`keras_vit.export` at the top level is the function `export`, not this package: import the
rest from here (`from keras_vit.export import load_artifact, ParityError`).
"""

from keras_vit.export.api import FORMATS, QUANTIZATIONS, Artifact, check_artifact, export, load_artifact
from keras_vit.export.metadata import read_metadata
from keras_vit.export.parity import ParityError
from keras_vit.export.report import ExportReport
