"""Generate the models the LiteRT delegate tests run.

MobileNetV3-small and EfficientNet-B0 from ``keras.applications`` (random
weights, no downloads; seeds make every run identical), converted by the real
TensorFlow Lite converter with the default dynamic batch, so the file keeps
``shape_signature`` -1 on the batch and every Keras Reshape/Flatten becomes
SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE (a RESHAPE whose output LiteRT
treats as a dynamic-sized tensor). The inputs are 128x128 and the classifiers
have 100 classes to keep the files small; the layers and the converter's
patterns are those of the 224x224, 1000-class models.

Also a small model with MediaPipe's Convolution2DTransposeBias custom op
(``transpose_conv_bias.tflite``, which LiteRT alone cannot run) and its twin
with LiteRT's TRANSPOSE_CONV and the same weights
(``transpose_conv_builtin.tflite``, LiteRT's answer): a Keras Conv2D then a
Conv2DTranspose, converted, and the TRANSPOSE_CONV operator rewritten into the
custom op (inputs input, filter, bias; custom options the TfLiteTransposeConvParams
words padding, stride_w, stride_h).

Usage: python gen_delegate_models.py OUTDIR [--small-only]  (--small-only: the
two transposed-convolution models, not the Keras applications)
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


def transpose_conv_pair():
    """(custom, builtin) model bytes."""
    from tensorflow.lite.python import schema_py_generated as schema
    import flatbuffers

    keras.utils.set_random_seed(7)
    inp = keras.Input(shape=(8, 8, 4), batch_size=1)
    x = L.Conv2D(6, 3, padding="same", activation="relu")(inp)
    x = L.Conv2DTranspose(3, 4, strides=2, padding="same", use_bias=True)(x)
    m = keras.Model(inp, x)
    for w in m.weights:
        if "bias" in w.path:
            w.assign(np.random.default_rng(3).normal(0, 0.2, w.shape).astype(np.float32))
    builtin = convert(m)
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(builtin, 0))
    codes = model.operatorCodes
    op = next(o for o in model.subgraphs[0].operators
              if max(codes[o.opcodeIndex].builtinCode, codes[o.opcodeIndex].deprecatedBuiltinCode)
              == schema.BuiltinOperator.TRANSPOSE_CONV)
    assert len(op.inputs) == 4 and op.inputs[3] >= 0, "TRANSPOSE_CONV with a bias"
    p = op.builtinOptions
    code = schema.OperatorCodeT()
    code.builtinCode = schema.BuiltinOperator.CUSTOM
    code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = "Convolution2DTransposeBias"
    code.version = 1
    codes.append(code)
    op.opcodeIndex = len(codes) - 1
    # TFLite padding enum: SAME 0, VALID 1; TfLitePadding: SAME 1, VALID 2.
    words = np.array([p.padding + 1, p.strideW, p.strideH], dtype="<i4")
    op.inputs = [op.inputs[2], op.inputs[1], op.inputs[3]]
    op.builtinOptionsType = schema.BuiltinOptions.NONE
    op.builtinOptions = None
    op.customOptions = list(words.tobytes())
    op.customOptionsFormat = schema.CustomOptionsFormat.FLEXBUFFERS
    b = flatbuffers.Builder(0)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output()), builtin


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    models = {
        "keras_mobilenet_v3_small": lambda: keras.applications.MobileNetV3Small(
            input_shape=SIZE, weights=None, classes=100),
        "keras_efficientnet_b0": lambda: keras.applications.EfficientNetB0(
            input_shape=SIZE, weights=None, classes=100),
    }
    custom, builtin = transpose_conv_pair()
    for name, blob in (("transpose_conv_bias", custom), ("transpose_conv_builtin", builtin)):
        path = os.path.join(out, name + ".tflite")
        with open(path, "wb") as f:
            f.write(blob)
        print(f"{len(blob):>10} {path}", flush=True)
    if len(sys.argv) > 2 and sys.argv[2] == "--small-only":
        return
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
