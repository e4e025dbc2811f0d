"""Generate the Keras application models the LiteRT delegate tests run.

MobileNetV3-small and EfficientNet-B0 from ``keras.applications`` (random
weights, no downloads; seeds make every run identical), converted by the real
TensorFlow Lite converter with the default dynamic batch, so the file keeps
``shape_signature`` -1 on the batch and every Keras Reshape/Flatten becomes
SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE (a RESHAPE whose output LiteRT
treats as a dynamic-sized tensor). The inputs are 128x128 and the classifiers
have 100 classes to keep the files small; the layers and the converter's
patterns are those of the 224x224, 1000-class models.

Usage: python gen_delegate_models.py OUTDIR
Needs: pip install tensorflow-cpu (the converter).
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import tensorflow as tf
import keras
from keras import layers as L

SIZE = (128, 128, 3)


def calibrate_bn(model, shape, seed=0):
    """Random weights make activations vanish or explode through deep nets: set
    every BatchNormalization's moving statistics from a sample batch (in graph
    order) so that activations keep a unit scale, as trained nets do."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (4,) + tuple(shape)).astype(np.float32) * 127.5 + 127.5
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            probe = keras.Model(model.inputs, layer.input)
            a = probe(x, training=False).numpy()
            axes = tuple(range(a.ndim - 1))
            c = a.shape[-1]
            gamma = rng.uniform(0.5, 1.5, c).astype(np.float32)
            beta = rng.normal(0, 0.2, c).astype(np.float32)
            layer.set_weights([gamma, beta, a.mean(axis=axes), a.var(axis=axes) + 1e-3])
    return model


def convert(model):
    c = tf.lite.TFLiteConverter.from_keras_model(model)
    return c.convert()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    models = {
        "keras_mobilenet_v3_small": lambda: keras.applications.MobileNetV3Small(
            input_shape=SIZE, weights=None, classes=100),
        "keras_efficientnet_b0": lambda: keras.applications.EfficientNetB0(
            input_shape=SIZE, weights=None, classes=100),
    }
    for name, make in models.items():
        keras.utils.set_random_seed(7)
        m = calibrate_bn(make(), SIZE)
        blob = convert(m)
        path = os.path.join(out, name + ".tflite")
        with open(path, "wb") as f:
            f.write(blob)
        print(f"{len(blob):>10} {path}", flush=True)


if __name__ == "__main__":
    main()
