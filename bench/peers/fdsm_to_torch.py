#!/usr/bin/env python3
"""Load an fdsm checkpoint into the equivalent torch.nn module (PyTorch out).

    /usr/bin/python3 fdsm_to_torch.py CKPT X.npy     # one energy per row, as `fdsm energy -ckpt CKPT -in X.npy`
    /usr/bin/python3 fdsm_to_torch.py CKPT X.npy -out E.npy    # a float64 vector, as `fdsm energy -out E.npy`

    import fdsm_to_torch
    e = fdsm_to_torch.load("run/ckpt.safetensors")  # torch.nn.Module; e(x) is E(x), one value per row
    e = fdsm_to_torch.load("run", data_units=True)  # the same, after the data's transform (as `fdsm energy`)

CKPT is a checkpoint file or the -out directory of `fdsm train` (its ckpt.safetensors). The file is
read with json and torch.frombuffer, without the `safetensors` package. The architecture comes from the
checkpoint's metadata "model" (cmd/fdsm/models.go, e.g. "mlp d=2 width=64 depth=2 act=softplus"), the
dtype from "dtype", the data's transform from "extra.data.transform" (and "extra.data.mean",
"extra.data.std"). Supported kinds, with their fdsm definitions:

  mlp        nn.MLP d-width-…-width-1, the activation between layers, none after the last
  quadratic  nn.Quadratic: an MLP trunk activated after every layer, then E = l1(h)·l2(h) + lq(h⊙h)
  resnet     cmd/fdsm resNetEnergy: 28×28 rows zero-padded to 32×32 (other squares as they are), then
             nn.ResNetEnergy, whose PyTorch twin is torch_resnet_bench.ResNetEnergy (imported from there)

Activations: softplus (fdsm's exact form; the ResNet's shifted softplus is the peer's F.softplus − log 2,
which differs from fdsm's by at most 2e-9 where the input exceeds 20, in float64 only), elu (α = 1),
tanh, swish (x·σ(x), PyTorch's SiLU), sigmoid. fdsm's parameter names and layouts are PyTorch's (Linear
[out, in], Conv2d [out, in, kh, kw], input rows in NCHW order; fdsm's NHWC is internal to its
convolutions), so the tensors load by name with no permutation.
nice, dkef and score-mlp checkpoints are refused with a message saying so.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_resnet_bench import QuadHead, ResNetEnergy  # noqa: E402  (the same architecture, one definition)

CHECKPOINT_NAME = "ckpt.safetensors"  # nn.CheckpointName
LOGIT_LAMBDA = 1e-6  # internal/data.LogitLambda (MAF's λ)

# safetensors dtype -> (torch dtype, bytes per element). fdsm writes F32 and F64.
DTYPES = {"F32": (torch.float32, 4), "F64": (torch.float64, 8), "F16": (torch.float16, 2),
          "BF16": (torch.bfloat16, 2)}
MODEL_DTYPES = {"float32": torch.float32, "float64": torch.float64}  # tensor.DType.String()

def softplus(x):
    """fdsm's softplus, max(x, 0) + log1p(e^−|x|) (tensor/elementwise.go). F.softplus is x itself above
    20, off by up to log1p(e^−20) ≈ 2e-9: below float32's resolution there, visible in float64."""
    return torch.clamp_min(x, 0) + torch.log1p(torch.exp(-x.abs()))


ACTIVATIONS = {"softplus": softplus, "elu": F.elu, "tanh": torch.tanh, "swish": F.silu,
               "sigmoid": torch.sigmoid}


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not describe a model this loader builds."""


def read_safetensors(path):
    """Return ({name: tensor}, {metadata key: value}) of a safetensors file.

    The tensors share one buffer with the file's bytes; errors name path and the tensor at fault.
    """
    if sys.byteorder != "little":
        raise CheckpointError(f"{path}: safetensors data is little-endian; this reader needs a little-endian host")
    with open(path, "rb") as f:
        buf = bytearray(f.read())
    if len(buf) < 8:
        raise CheckpointError(f"{path}: {len(buf)} bytes, too short for a safetensors header")
    (n,) = struct.unpack_from("<Q", buf, 0)
    if n > len(buf) - 8:
        raise CheckpointError(f"{path}: header of {n} bytes, but the file has {len(buf) - 8} after its length")
    try:
        header = json.loads(buf[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: header is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise CheckpointError(f"{path}: __metadata__ is not an object of strings")
    base, size = 8 + n, len(buf) - 8 - n
    tensors = {}
    for name, h in header.items():
        bad = f"{path}: tensor {name!r}"
        if not isinstance(h, dict) or h.get("dtype") not in DTYPES:
            raise CheckpointError(f"{bad}: dtype {h.get('dtype') if isinstance(h, dict) else h!r} "
                                  f"(want one of {', '.join(DTYPES)})")
        dt, item = DTYPES[h["dtype"]]
        shape, offs = h.get("shape"), h.get("data_offsets")
        if not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
            raise CheckpointError(f"{bad}: shape {shape!r} is not a list of non-negative integers")
        if (not isinstance(offs, list) or len(offs) != 2 or not all(isinstance(o, int) for o in offs)
                or not 0 <= offs[0] <= offs[1] <= size):
            raise CheckpointError(f"{bad}: data_offsets {offs!r} outside the {size} bytes of data")
        count = math.prod(shape)
        if offs[1] - offs[0] != count * item:
            raise CheckpointError(f"{bad}: {offs[1] - offs[0]} bytes of data for shape {shape} of {h['dtype']}")
        t = torch.frombuffer(buf, dtype=dt, count=count, offset=base + offs[0]) if count else torch.empty(0, dtype=dt)
        tensors[name] = t.reshape(shape)
    return tensors, meta


def parse_model_spec(spec):
    """Parse the metadata "model" (cmd/fdsm modelSpec.String): kind, then key=value fields."""
    f = spec.split()
    if not f:
        raise ValueError("empty model specification")
    out = {"kind": f[0]}
    for kv in f[1:]:
        k, sep, v = kv.partition("=")
        if not sep or k in out:
            raise ValueError(f"field {kv!r}: want key=value, each key once")
        out[k] = v
    return out


class MLP(nn.Module):
    """fdsm's nn.MLP: Linear layers "layers.<i>", the activation between them (and after the last too
    when act_last, as nn.Quadratic's trunk)."""

    def __init__(self, sizes, act, act_last=False):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        self.act, self.act_last = act, act_last

    def forward(self, x):
        f = ACTIVATIONS[self.act]
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if self.act_last or i + 1 < len(self.layers):
                x = f(x)
        return x


class MLPEnergy(MLP):
    """The mlp energy d-w-…-w-1: E(x), one value per row."""

    def forward(self, x):
        return super().forward(x).reshape(-1)


class QuadraticEnergy(QuadHead):
    """fdsm's nn.Quadratic: E = l1(h)·l2(h) + lq(h⊙h), h = trunk(x) (parameters "trunk.layers.<i>.*",
    "l1.*", "l2.*", "lq.*")."""

    def __init__(self, sizes, act):
        super().__init__(sizes[-1])
        self.trunk = MLP(sizes, act, act_last=True)

    def forward(self, x):
        return super().forward(self.trunk(x))


class ImageResNetEnergy(ResNetEnergy):
    """cmd/fdsm's resNetEnergy: rows of side×side pixels, zero-padded inside the model when side is 28
    (MNIST to the paper's 32×32, resNetPad), then nn.ResNetEnergy on 1×(side+2p)×(side+2p)."""

    def __init__(self, d, channels, blocks):
        side = math.isqrt(d)
        if side * side != d or side < 4:
            raise ValueError(f"d {d}: want the pixels of a square image of side at least 4")
        self.side, self.pad = side, (2 if side == 28 else 0)
        big = side + 2 * self.pad
        super().__init__(c=1, h=big, w=big, channels=channels, blocks=blocks)

    def forward(self, x):
        if self.pad:
            p = self.pad
            x = F.pad(x.reshape(-1, 1, self.side, self.side), (p, p, p, p)).reshape(x.shape[0], -1)
        return super().forward(x)


class Standardize(nn.Module):
    """The standardize transform: (x − mean)/std per column, in float64, back in x's dtype."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float64))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float64))

    def forward(self, x):
        return ((x.double() - self.mean) / self.std).to(x.dtype)


class Logit(nn.Module):
    """The logit transform of pixels x in [0, 1]: logit(λ + (1 − 2λ)x), in float64 (data.Logit)."""

    def forward(self, x):
        p = LOGIT_LAMBDA + (1 - 2 * LOGIT_LAMBDA) * x.double()
        return (torch.log(p) - torch.log1p(-p)).to(x.dtype)


def checkpoint_path(path):
    """A checkpoint file, or a directory holding ckpt.safetensors (as fdsm's -ckpt)."""
    if os.path.isdir(path):
        f = os.path.join(path, CHECKPOINT_NAME)
        if not os.path.isfile(f):
            raise CheckpointError(f"{path}: no checkpoint {CHECKPOINT_NAME} in this directory")
        return f
    return path


def build(spec, path="model"):
    """The torch module of a parsed model specification, with fresh parameters."""
    kind = spec["kind"]
    try:
        d, width, depth, act = int(spec["d"]), int(spec["width"]), int(spec["depth"]), spec["act"]
    except (KeyError, ValueError) as e:
        raise CheckpointError(f"{path}: metadata \"model\": field {e} missing or not an integer") from None
    if act not in ACTIVATIONS:
        raise CheckpointError(f"{path}: metadata \"model\": activation {act!r} (want one of {', '.join(ACTIVATIONS)})")
    sizes = [d] + [width] * depth
    if kind == "mlp":
        return MLPEnergy(sizes + [1], act)
    if kind == "quadratic":
        return QuadraticEnergy(sizes, act)
    if kind == "resnet":
        if act != "softplus":
            raise CheckpointError(f"{path}: metadata \"model\": the ResNet energy's activation is shifted softplus, not {act}")
        return ImageResNetEnergy(d, width, depth)
    if kind == "score-mlp":
        raise CheckpointError(f"{path}: the model is a score network ({kind}), which has no energy")
    raise CheckpointError(f"{path}: model kind {kind!r} is not supported by this loader (mlp, quadratic, resnet are)")


def transform_of(meta, d, path="model"):
    """The data transform the model was trained under (metadata "extra.data.transform"), or None."""
    kind = meta.get("extra.data.transform", "none")
    if kind == "none":
        return None
    if kind == "logit":
        return Logit()
    if kind == "standardize":
        try:
            mean = [float(v) for v in meta["extra.data.mean"].split(",")]
            std = [float(v) for v in meta["extra.data.std"].split(",")]
        except (KeyError, ValueError):
            mean = std = []
        if len(mean) != d or len(std) != d or not all(s > 0 and math.isfinite(s) for s in std):
            raise CheckpointError(f"{path}: metadata \"extra.data.mean\"/\"extra.data.std\": want {d} means "
                                  f"and {d} positive standard deviations")
        return Standardize(mean, std)
    raise CheckpointError(f"{path}: metadata \"extra.data.transform\": unknown transform {kind!r}")


def load(path, data_units=False):
    """The energy of an fdsm checkpoint as a torch.nn.Module in the checkpoint's dtype: forward maps rows
    [N, d] to E(x) [N]. Rows are in the model's space (after the training transform), unless data_units,
    which prepends the transform so that rows are in the data's units, as `fdsm energy -in` takes them.
    The module's attributes fdsm_meta (the metadata), fdsm_spec (its parsed "model") and fdsm_path say
    where it came from."""
    path = checkpoint_path(path)
    tensors, meta = read_safetensors(path)
    if "model" not in meta:
        raise CheckpointError(f"{path}: no model specification (metadata \"model\"): not a checkpoint written by fdsm train")
    try:
        spec = parse_model_spec(meta["model"])
        net = build(spec, path)
    except ValueError as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"{path}: metadata \"model\" {meta['model']!r}: {e}") from None
    dtype = MODEL_DTYPES.get(meta.get("dtype", "float32"))
    if dtype is None:
        raise CheckpointError(f"{path}: metadata \"dtype\" {meta['dtype']!r} (want float32 or float64)")
    net = net.to(dtype)
    params = {k: v for k, v in tensors.items() if not k.startswith("optim.")}  # drop Adam's buffers
    want = net.state_dict()
    missing, extra = sorted(set(want) - set(params)), sorted(set(params) - set(want))
    if missing or extra:
        raise CheckpointError(f"{path}: the model {meta['model']!r} wants tensors {missing} that the file lacks"
                              if missing else f"{path}: tensors {extra} in the file are not parameters of {meta['model']!r}")
    for k, v in params.items():
        if tuple(v.shape) != tuple(want[k].shape) or v.dtype != dtype:
            raise CheckpointError(f"{path}: tensor {k!r}: {v.dtype} {list(v.shape)} in the file, "
                                  f"{dtype} {list(want[k].shape)} in the model")
    net.load_state_dict(params)
    net.eval()
    if data_units:
        tr = transform_of(meta, int(spec["d"]), path)
        if tr is not None:
            net = nn.Sequential(tr, net)  # tr keeps its float64 statistics, as fdsm's transform
    net.fdsm_meta, net.fdsm_spec, net.fdsm_path = meta, spec, path
    return net


def save_energies(path, e):
    """Write energies as fdsm energy -out does: a float64 .npy vector, or text, one per line; written
    to a temporary name and renamed, so a crash leaves no torn file."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        if path.endswith(".npy"):
            np.save(f, np.asarray(e, dtype=np.float64))
        else:
            f.write("".join(f"{v:.9g}\n" for v in e).encode())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main(argv):
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    out = None
    if len(argv) == 4 and argv[2] == "-out":
        argv, out = argv[:2], argv[3]
    if len(argv) != 2:
        print("usage: fdsm_to_torch.py CKPT X.npy [-out FILE.npy|FILE]   (-h for help)", file=sys.stderr)
        return 2
    ckpt, xpath = argv
    try:
        net = load(ckpt, data_units=True)
        try:
            x = np.load(xpath, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise CheckpointError(f"{xpath}: {e}") from None
        d = int(net.fdsm_spec["d"])
        if x.ndim == 1 and x.shape[0] == d:
            x = x.reshape(1, d)
        if x.ndim != 2 or x.shape[1] != d or x.shape[0] == 0 or not np.issubdtype(x.dtype, np.number):
            raise CheckpointError(f"{xpath}: {x.dtype} {list(x.shape)} values, but the model takes rows of {d} columns")
        dtype = MODEL_DTYPES[net.fdsm_meta.get("dtype", "float32")]
        x = torch.from_numpy(np.ascontiguousarray(x)).to(dtype)
        if net.fdsm_meta.get("extra.data.transform") == "logit" and not bool(((x >= 0) & (x <= 1)).all()):
            raise CheckpointError(f"{xpath}: the model's logit transform needs values in [0, 1]")
        with torch.no_grad():
            e = torch.cat([net(x[i:i + 256]) for i in range(0, x.shape[0], 256)])  # chunks as fdsm's evalChunk
        e = e.double().tolist()
        if out is None:
            sys.stdout.write("".join(f"{v:.9g}\n" for v in e))  # fdsm energy's 'g', 9 digits
        else:
            save_energies(out, e)
    except (CheckpointError, OSError) as e:
        print(f"fdsm_to_torch: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
