"""The two engines that can run the converted graph, behind one small interface.

Both take the same (1, 3, 300, 300) float32 blob and return the raw outputs of the graph, so
everything before and after the forward pass is shared. ``onnxruntime`` is the default: on the
benchmark machine it runs this graph in about half the time ``cv2.dnn`` needs (see the README's
Performance section); ``opencv`` needs nothing beyond OpenCV itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from .convert import BOXES_NAME, CLASSES_NAME, INPUT_NAME
from .settings import BACKENDS

DEFAULT_BACKEND = BACKENDS[0]


class Engine(Protocol):
    name: str

    def run(self, blob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(box encodings, class logits) for an NCHW float32 blob, shaped as the graph says."""
        ...


class OpenCVEngine:
    """``cv2.dnn`` (OpenCV's own engine; its thread count is ``cv2.setNumThreads``')."""

    name = "opencv"

    def __init__(self, onnx_path: Path) -> None:
        self.net = cv2.dnn.readNetFromONNX(str(onnx_path))

    def run(self, blob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # A cv2.dnn.Net keeps its input and outputs as state: calls must not overlap.
        self.net.setInput(blob)
        boxes, logits = self.net.forward([BOXES_NAME, CLASSES_NAME])
        return boxes, logits


class OnnxRuntimeEngine:
    """``onnxruntime`` on the CPU. ``InferenceSession.run`` may be called from several threads.

    The intra-op pool gets one thread per core (at most 4: this graph gains nothing beyond).
    Between runs its threads spin, waiting for the next one: the fastest single call (7.2 against
    9.2 ms here). With ``concurrent`` they sleep instead, leaving the cores to the decoding,
    drawing and HTTP work of other requests: about 20 % more runs a second with two callers."""

    name = "onnxruntime"

    def __init__(self, onnx_path: Path, threads: int | None = None, concurrent: bool = False):
        import onnxruntime as ort  # optional until this engine is chosen

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(os.cpu_count() or 1, 4)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        spin = "0" if concurrent else "1"
        options.add_session_config_entry("session.intra_op.allow_spinning", spin)
        self.session = ort.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )

    def run(self, blob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        boxes, logits = self.session.run([BOXES_NAME, CLASSES_NAME], {INPUT_NAME: blob})
        return boxes, logits


def create_engine(backend: str, onnx_path: Path, concurrent: bool = False) -> Engine:
    """The engine named ``backend`` (one of ``BACKENDS``) on the graph at ``onnx_path``;
    ``concurrent``: tuned for several callers at once rather than the fastest single call."""
    if backend == "opencv":
        return OpenCVEngine(onnx_path)
    if backend == "onnxruntime":
        return OnnxRuntimeEngine(onnx_path, concurrent=concurrent)
    raise ValueError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
