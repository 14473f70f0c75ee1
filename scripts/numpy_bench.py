#!/usr/bin/env python3
"""Times the book's numpy forward pass on this machine, for comparison with `cargo bench`.

Usage: python3 scripts/numpy_bench.py [DATA_DIR]   (needs numpy; DATA_DIR defaults to the
data rule's ../shared/data). It unpickles the book's sample_weight.pkl with Python's pickle,
which executes the file: run it only on the book's own file.

Run it right after `cargo bench -p scratchnet-host` (same machine, same load): it then also
prints scratchnet's figures from that run (criterion's medians in target/criterion) and the
ratios. Both sides are medians.
"""
import gzip, json, os, pickle, statistics, sys, time
import numpy as np

data = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SCRATCHNET_DATA", "../shared/data")
with open(os.path.join(data, "sample_weight.pkl"), "rb") as f:
    net = pickle.load(f)
with gzip.open(os.path.join(data, "t10k-images-idx3-ubyte.gz")) as f:
    x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255.0
W1, W2, W3, b1, b2, b3 = (net[k] for k in ("W1", "W2", "W3", "b1", "b2", "b3"))

def sigmoid(a):
    return 1 / (1 + np.exp(-a))

def softmax(a):
    a = a - a.max(axis=-1, keepdims=True)
    e = np.exp(a)
    return e / e.sum(axis=-1, keepdims=True)

def predict(x):
    z1 = sigmoid(x @ W1 + b1)
    z2 = sigmoid(z1 @ W2 + b2)
    return softmax(z2 @ W3 + b3)

def median(f, n):
    t = []
    for _ in range(n):
        s = time.perf_counter(); f(); t.append(time.perf_counter() - s)
    return statistics.median(t)

batch = median(lambda: predict(x).argmax(axis=1), 20)
one = median(lambda: [predict(x[i]).argmax() for i in range(1000)], 5) / 1000
print(f"numpy {np.__version__}: 10 000 images as one batch: {batch * 1e3:.1f} ms")
print(f"numpy {np.__version__}: one image at a time: {one * 1e6:.1f} us per image")

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "criterion")
for name, what, numpy_s in [
    ("mnist f32 fast_ 10 000 test images", "f32 fast, 10 000 images", batch),
    ("mnist int8 fast_ 10 000 test images", "int8 fast, 10 000 images", batch),
    ("mnist f32_ 10 000 test images", "f32 core (one thread), 10 000 images", batch),
    ("mnist int8_ 10 000 test images", "int8 core (one thread), 10 000 images", batch),
    ("mnist f32 fast_ one image (index 0)", "f32 fast, one image", one),
    ("mnist f32_ one image (index 0)", "f32 core, one image", one),
]:
    for dirpath, _, files in os.walk(os.path.join(root, name)):
        if dirpath.endswith(os.sep + "new") and "estimates.json" in files:
            with open(os.path.join(dirpath, "estimates.json")) as f:
                ours = json.load(f)["median"]["point_estimate"] * 1e-9
            print(f"scratchnet {what}: {ours * 1e3:.3f} ms, {numpy_s / ours:.2f}x numpy's speed")
