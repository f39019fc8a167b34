#!/usr/bin/env python3
"""Cross-check fdsm's objectives against PyTorch on identical weights and random draws.

Builds a softplus MLP energy (and a score network) in PyTorch, float64, writes its weights as
safetensors (PyTorch names, layers.<i>.weight [out, in]) and the batch, projections and DSM noise
as .npy, then for every objective compares PyTorch's loss and parameter gradients with
`fdsm loss ... -dtype float64 -json -grad`. The PyTorch losses follow bench/peers/torch_sm_bench.py.

Usage (from the repository root; needs python3-torch, nothing fdsm itself needs):
    go build -o /tmp/fdsm ./cmd/fdsm
    /usr/bin/python3 bench/crosscheck/torch_crosscheck.py /tmp/fdsm
"""
import json, math, os, struct, subprocess, sys, tempfile

import numpy as np
import torch

torch.set_default_dtype(torch.float64)


def save_safetensors(path, tensors):
    """The safetensors layout: u64 header length, JSON header, little-endian data."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name].detach().numpy().astype("<f8"))
        b = a.tobytes()
        header[name] = {"dtype": "F64", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        dt = {"F64": "<f8", "F32": "<f4"}[info["dtype"]]
        out[name] = np.frombuffer(data[8 + n + a:8 + n + b], dtype=dt).reshape(info["shape"])
    return out


def mlp(sizes, gen):
    layers = []
    for i in range(len(sizes) - 1):
        layers += [torch.nn.Linear(sizes[i], sizes[i + 1])]
        if i + 2 < len(sizes):
            layers += [torch.nn.Softplus()]
    net = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    return net


def named(net):
    # fdsm's names count Linear layers only: layers.<i>.weight.
    out, i = {}, 0
    for m in net:
        if isinstance(m, torch.nn.Linear):
            out[f"layers.{i}.weight"], out[f"layers.{i}.bias"] = m.weight, m.bias
            i += 1
    return out


def grad_x(y, x):
    return torch.autograd.grad(y, x, create_graph=True)[0]


def sphere(v, r):
    return v / v.norm(dim=1, keepdim=True) * r


def losses(E, S, x, v, n, sigma, d):
    """Each objective exactly as docs/OBJECTIVES.md states it (v used as fdsm uses -v)."""
    B = x.shape[0]
    logp = lambda z: -E(z).squeeze(-1)
    out = {}
    xx = x.clone().requires_grad_(True)
    g = grad_x(logp(xx).sum(), xx)
    tr = sum(grad_x(g[:, i].sum(), xx)[:, i] for i in range(d))
    out["sm"] = (0.5 * (g * g).sum(1) + tr).mean()
    gv = (g * v).sum(1)
    hv = grad_x(gv.sum(), xx)
    out["ssm"] = (0.5 * gv * gv + (hv * v).sum(1)).mean()
    out["ssm-vr"] = (0.5 * (g * g).sum(1) + (hv * v).sum(1)).mean()
    xt = (x + sigma * n).requires_grad_(True)
    s = grad_x(logp(xt).sum(), xt)
    r = sigma ** 2 * s + (xt - x)
    out["dsm"] = 0.5 * (r * r).sum(1).mean()
    sig = torch.linspace(0.05, 1.2, B).unsqueeze(1)
    xm = (x + sig * n).requires_grad_(True)
    dE = -grad_x(logp(xm).sum(), xm)
    out["mdsm"] = 1e-4 * (((x - xm) / 0.1 ** 2 + dE) ** 2).sum(1).div(sig.squeeze(1) ** 2).mean()
    eps = 0.1
    u = sphere(v, eps)
    L = logp(torch.cat([x, x + u, x - u]))
    l0, lp, lm = L[:B], L[B:2 * B], L[2 * B:]
    out["fd-ssm"] = ((lp - lm) ** 2 / 8 + lp + lm - 2 * l0).mean() * (d / eps ** 2)
    epsd = 1e-3
    uu = sphere(v, epsd * math.sqrt(d))
    xt2 = x + sigma * n
    L = logp(torch.cat([xt2 + uu, xt2 - uu]))
    a = sigma ** 2 * (L[:B] - L[B:]) * 0.5 + ((xt2 - x) * uu).sum(1)
    out["fd-dsm"] = (a * a).mean() / (2 * epsd ** 2)
    epsm = 0.05
    um = sphere(v, epsm)
    xt3 = x + sig * n
    L = logp(torch.cat([xt3 + um, xt3 - um]))
    a = 0.5 * (L[:B] - L[B:]) + ((xt3 - x) * um).sum(1) / 0.1 ** 2
    out["fd-mdsm"] = 1e-4 * (d / epsm ** 2) * (a * a / sig.squeeze(1) ** 2).mean()
    # Score network objectives.
    xs = x.clone().requires_grad_(True)
    sc = S(xs)
    jv = grad_x((sc * v).sum(), xs)
    out["score:ssm-vr"] = (0.5 * (sc * sc).sum(1) + (jv * v).sum(1)).mean()
    us = sphere(v, eps)
    sp, sm_ = S(x + us), S(x - us)
    out["score:fd-ssm-vr"] = ((sp + sm_).pow(2).sum(1) / 8 + (d / (2 * eps ** 2)) * ((sp - sm_) * us).sum(1)).mean()
    return out


def main():
    fdsm = sys.argv[1] if len(sys.argv) > 1 else "fdsm"
    gen = torch.Generator().manual_seed(0)
    B, d, sigma = 16, 5, 0.1
    E, S = mlp([d, 24, 24, 1], gen), mlp([d, 24, 24, d], gen)
    x = torch.randn(B, d, generator=gen)
    v = torch.randn(B, d, generator=gen)
    n = torch.randn(B, d, generator=gen)
    ref = losses(E, S, x, v, n, sigma, d)
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        p = lambda f: os.path.join(tmp, f)
        save_safetensors(p("e.safetensors"), named(E))
        save_safetensors(p("s.safetensors"), named(S))
        for name, a in (("x", x), ("v", v), ("n", n)):
            np.save(p(name + ".npy"), a.numpy())
        print(f"{'objective':18} {'PyTorch loss':>22} {'fdsm loss':>22} {'loss rel.err':>12} {'grad rel.err':>12}")
        for key, lt in ref.items():
            score = key.startswith("score:")
            obj = key.split(":")[-1]
            net = S if score else E
            model = p("s.safetensors") if score else p("e.safetensors")
            cmd = [fdsm, "loss", "-model", model, "-objective", obj, "-x", p("x.npy"), "-v", p("v.npy"),
                   "-noise", p("n.npy"), "-sigma", str(sigma), "-dtype", "float64", "-json", "-grad", p("g.safetensors")]
            res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            params = named(net)
            gt = torch.autograd.grad(lt, list(params.values()), allow_unused=True, retain_graph=True)
            # The last bias never reaches a score: its gradient is unused (zero).
            gt = [torch.zeros_like(q) if g is None else g for q, g in zip(params.values(), gt)]
            gf = load_safetensors(p("g.safetensors"))
            num = sum(float(((torch.from_numpy(gf[k].copy()) - g) ** 2).sum()) for k, g in zip(params, gt))
            den = sum(float((g ** 2).sum()) for g in gt)
            lerr = abs(res["loss"] - float(lt)) / max(abs(float(lt)), 1e-300)
            gerr = math.sqrt(num / den)
            worst = max(worst, lerr, gerr)
            print(f"{key:18} {float(lt):22.15g} {res['loss']:22.15g} {lerr:12.2e} {gerr:12.2e}")
    print(f"worst relative error {worst:.2e}")
    sys.exit(0 if worst < 1e-9 else 1)


if __name__ == "__main__":
    main()
