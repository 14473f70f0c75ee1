#!/usr/bin/env python3
"""Writes numpy's reference files for the book's MNIST network into the data folder.

    python3 scripts/make_reference.py [DATA_DIR]

DATA_DIR (default: $SCRATCHNET_DATA, else ../shared/data beside the project) must hold the
book's ch03/sample_weight.pkl and MNIST's t10k-images-idx3-ubyte.gz and
t10k-labels-idx1-ubyte.gz. It writes, there:

- reference_predictions.u8: 10 000 bytes, the class the book's forward pass gives each
  test image (np.argmax);
- reference_logits.f32le: 10 000 x 10 little-endian float32, that pass's output-layer
  values before softmax.

The forward pass is the book's neuralnet_mnist_batch.py in float32, the 10 000 images as
one batch: x = pixels / 255.0 (load_mnist(normalize=True)), a1 = x.W1 + b1,
z1 = sigmoid(a1), a2 = z1.W2 + b2, z2 = sigmoid(a2), a3 = z2.W3 + b3. (Smaller batches
give the same predictions, with logits a few 1e-6 apart: BLAS sums in another order.)
Needs numpy; pickle is used only on the book's own file, which this script trusts.
"""

import gzip
import os
import pickle
import sys
from pathlib import Path

import numpy as np


def data_dir() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    if "SCRATCHNET_DATA" in os.environ:
        return Path(os.environ["SCRATCHNET_DATA"])
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def main() -> int:
    d = data_dir()
    with open(d / "sample_weight.pkl", "rb") as f:
        net = pickle.load(f)
    with gzip.open(d / "t10k-images-idx3-ubyte.gz", "rb") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(d / "t10k-labels-idx1-ubyte.gz", "rb") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    x = images.astype(np.float32)
    x /= 255.0
    w1, w2, w3 = net["W1"], net["W2"], net["W3"]
    b1, b2, b3 = net["b1"], net["b2"], net["b3"]
    z1 = sigmoid(np.dot(x, w1) + b1)
    z2 = sigmoid(np.dot(z1, w2) + b2)
    logits = np.dot(z2, w3) + b3
    predictions = np.argmax(logits, axis=1).astype(np.uint8)
    accuracy = float(np.mean(predictions == labels))
    (d / "reference_predictions.u8").write_bytes(predictions.tobytes())
    (d / "reference_logits.f32le").write_bytes(logits.astype("<f4").tobytes())
    print(f"accuracy: {accuracy:.4f} ({int(np.sum(predictions == labels))}/{len(labels)})")
    print(f"wrote {d / 'reference_predictions.u8'} and {d / 'reference_logits.f32le'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
