#!/usr/bin/env python3
"""Counts the floor of the book's int8 network on a Cortex-M4F in input pairs, from the test set.

Usage: python3 scripts/int8_floor.py [DATA_DIR]   (needs numpy; DATA_DIR defaults to
$SCRATCHNET_DATA, else the data rule's ../shared/data).

It prints, over all 10 000 MNIST test images and over the first 100 (the `profile`
binary's), the mean non-zero pixels, non-zero input pairs (pixels 2k and 2k + 1: the
entries `scratchnet_q8_list` writes for layer 1) and non-zero input words, and then the
instructions the pairs routine cannot go below (BENCHMARKS.md, "What is left"):

- multiply-adding: SMLAD, UXTB16, SMLAD for each pair and word of two outputs (three
  instructions for four multiply-adds): layer 1 pairs x 25 words, layer 2 25 x 50;
- addressing: for each pair and block of six outputs the entry's LDRD, the block's ADD and
  its words' LDM (three), and for a last block of two outputs two (LDRD, LDR), of four
  three: layer 1 is 8 blocks of six and one of two, layer 2 two windows (26 and 24 words)
  of 16 blocks of six and one of four.
"""
import gzip
import os
import signal
import sys

import numpy as np

# `| head -1` ends the output quietly, as a command line tool's should.
signal.signal(signal.SIGPIPE, signal.SIG_DFL)

data = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SCRATCHNET_DATA", "../shared/data")
path = os.path.join(data, "t10k-images-idx3-ubyte.gz")
try:
    with gzip.open(path) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
except (OSError, ValueError) as e:
    sys.exit(f"int8_floor: cannot read MNIST's test images at {path}: {e}")

for name, xs in (("all 10 000 images", x), ("first 100 images", x[:100])):
    pixels = (xs > 0).sum(1).mean()
    pairs = xs.reshape(len(xs), 392, 2).any(2).sum(1).mean()
    words = xs.reshape(len(xs), 196, 4).any(2).sum(1).mean()
    mac = pairs * 25 * 3 + 25 * 50 * 3
    address = pairs * (8 * 3 + 2) + 25 * (16 * 3 + 3)
    print(
        f"{name}: non-zero pixels {pixels:.2f}, pairs {pairs:.2f}, words {words:.2f}; "
        f"floor: multiply-adding {mac:.0f}, addressing {address:.0f}, "
        f"together {mac + address:.0f}"
    )
