"""torch.randn with a CPU generator, and A1111's "NV" Philox generator re-implemented in numpy from its
documented formula (A1111 rng_philox.py), as fixtures SdSharp must reproduce bit for bit.

Usage: python3 make_rng_fixtures.py OUT_DIR
"""
import hashlib, json, os, sys

import numpy as np
import torch

SEEDS = [0, 1, 42, 12345, 2**31 - 1, 2**32 - 1, 2**32 + 5, 2**63, 3_000_000_000]
SHAPES = [(1,), (5,), (15,), (16,), (17,), (31,), (33,), (100,), (1, 4, 8, 8), (2, 4, 8, 8), (1, 4, 64, 64),
          (1, 4, 96, 64), (2, 4, 128, 128), (1, 4, 7, 9)]


def describe(values: np.ndarray, shape):
    flat = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
    bits = flat.view(np.uint32)
    return {"shape": list(shape), "count": int(flat.size),
            "sha256": hashlib.sha256(flat.tobytes()).hexdigest(),
            "head": [int(b) for b in bits[:64]],
            "sample": [[int(i), int(bits[i])] for i in range(0, flat.size, 997)]}


def torch_cases():
    cases = []
    for seed in SEEDS:
        for shape in SHAPES:
            g = torch.Generator("cpu").manual_seed(seed)
            draws = [describe(torch.randn(shape, generator=g).numpy(), shape) for _ in range(2)]
            cases.append({"seed": seed, "draws": draws})
    # mixed sizes on one stream: the scalar path's cached second value and the vector path interleave
    g = torch.Generator("cpu").manual_seed(7)
    mixed = [(3,), (20,), (1,), (16,), (5,), (1, 4, 8, 8)]
    cases.append({"seed": 7, "draws": [describe(torch.randn(s, generator=g).numpy(), s) for s in mixed]})
    return cases


# ---- A1111 rng_philox, re-implemented from the documented formula ----
M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
A = np.float32(2.3283064e-10)
B = np.float32(2.3283064e-10 * 6.2831855)


def philox_randn(seed, offset, n):
    c0 = np.full(n, offset, dtype=np.uint64)
    c1 = np.zeros(n, dtype=np.uint64)
    c2 = np.arange(n, dtype=np.uint64)
    c3 = np.zeros(n, dtype=np.uint64)
    k0 = np.uint64(seed & 0xFFFFFFFF)
    k1 = np.uint64((seed >> 32) & 0xFFFFFFFF)
    mask = np.uint64(0xFFFFFFFF)
    for r in range(10):
        p = c0 * np.uint64(M0)
        q = c2 * np.uint64(M1)
        c0, c1, c2, c3 = ((q >> np.uint64(32)) ^ c1 ^ k0) & mask, q & mask, ((p >> np.uint64(32)) ^ c3 ^ k1) & mask, p & mask
        if r < 9:
            k0 = (k0 + np.uint64(W0)) & mask
            k1 = (k1 + np.uint64(W1)) & mask
    u = c0.astype(np.float64) * np.float64(A) + np.float64(A) / 2
    v = c1.astype(np.float64) * np.float64(B) + np.float64(B) / 2
    return (np.sqrt(-2.0 * np.log(u)) * np.sin(v)).astype(np.float32)


def philox_cases():
    cases = []
    for seed in SEEDS:
        for shape in SHAPES:
            n = int(np.prod(shape))
            cases.append({"seed": seed, "draws": [describe(philox_randn(seed, off, n), shape) for off in range(2)]})
    return cases


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "torch_randn.json"), "w") as f:
        json.dump({"torch_version": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                   "cases": torch_cases()}, f)
    with open(os.path.join(out, "philox.json"), "w") as f:
        json.dump({"numpy_version": np.__version__, "cases": philox_cases()}, f)
    print("rng fixtures written, cpu capability", torch.backends.cpu.get_cpu_capability())


if __name__ == "__main__":
    main()
