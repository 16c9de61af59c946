"""Fixtures for SdSharp's C# tests of the bundled model's tools (needs torch on the CPU, numpy and PIL):

tests/fixtures/adherence/        a few images from dataset.py's renderer (clean, blurred, noisy, empty, with a
                                 stray speck) and what adherence.py finds in each (expected.json), so the tests
                                 check that the C# scorer agrees with the Python one
tests/fixtures/shapes-tokenizer/ the tokenizer learned from the caption grammar (vocab.json, merges.txt, as the
                                 model folder has it) and the ids tokenizer.py gives for some texts (ids.json)

Usage: python3 tools/train/make_fixtures.py [FIXTURES_DIR]     (default tests/fixtures)
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import adherence  # noqa: E402
import dataset  # noqa: E402
import tokenizer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))


def blur(x, passes=1):
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
    k = (k[:, None] * k[None, :]) / 256.0
    for _ in range(passes):
        x = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), k.expand(3, 1, 5, 5), groups=3)
    return x


def tokenizer_fixture(out):
    tok = tokenizer.learn_tokenizer()
    os.makedirs(out, exist_ok=True)
    tok.save(out)
    for extra in ("special_tokens_map.json", "tokenizer_config.json"):
        os.remove(os.path.join(out, extra))  # the C# tokenizer reads only vocab.json and merges.txt
    texts = [p["prompt"] for p in dataset.heldout_set()] + [
        "", "A Large RED circle,  on the LEFT!", "unknown words 123 still tokenize", "it's a purple-ish triangle",
        "a small green square at the bottom and a large white circle at the top on a black background", "café"]
    with open(os.path.join(out, "ids.json"), "w", encoding="utf-8") as f:
        json.dump({"made_by": "tools/train/make_fixtures.py", "context_length": tokenizer.CONTEXT_LENGTH,
                   "texts": [{"text": t, "ids": tok.encode_context(t)} for t in texts]}, f, ensure_ascii=False)
    print(f"wrote the tokenizer ({len(tok.vocab)} tokens) and ids of {len(texts)} texts to {out}")


def adherence_fixtures(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(42)
    gen = torch.Generator().manual_seed(42)
    heldout = dataset.heldout_set()

    def scene(p, jitter=True):
        return dataset.scene_for(p["color"], p["shape"], p["position"], p["size"], p["background"], rng if jitter else None)

    cases = []  # (name, image tensor (1, 3, H, W) in [0, 1], truth dict or None, note)
    for i in (0, 1, 2, 3, 4, 13):  # every shape, position and several colours, large and small
        p = heldout[i]
        cases.append((f"clean_{i:02d}", dataset.render(scene(p)), p, "exact render of a held-out prompt"))
    p = heldout[17]
    cases.append(("blurred_17", blur(dataset.render(scene(p)), 2), p, "two 5x5 binomial blurs"))
    p = heldout[38]
    x = blur(dataset.render(scene(p)), 1) + 0.06 * torch.randn(1, 3, 128, 128, generator=gen)
    cases.append(("noisy_38", x, p, "blur and Gaussian noise (sigma 15/255)"))
    p = dict(color="orange", shape="triangle", position="at the top", size="small", background="yellow")
    cases.append(("close_colors", blur(dataset.render(scene(p))), p, "orange on yellow, the closest palette pair"))
    p = dict(color="purple", shape="square", position="on the right", size="large", background="black")
    s = scene(p)
    s.count[0] = 2  # a stray speck: a tiny second object the scorer must ignore
    s.color[0, 1], s.shape[0, 1], s.cx[0, 1], s.cy[0, 1], s.extent[0, 1] = 0, 0, 0.2, 0.2, 0.05
    cases.append(("speck", dataset.render(s), p, "a red speck beside the object: the largest component wins"))
    s = scene(dict(color="red", shape="circle", position="in the center", size="small", background="white"))
    s.count[0] = 0
    cases.append(("empty", dataset.render(s), None, "background only: no object"))

    entries = []
    for name, x, truth, note in cases:
        img = dataset.to_uint8(x)[0]
        Image.fromarray(img).save(os.path.join(out, f"{name}.png"), optimize=True)
        r = adherence.score(img, dataset.PALETTE, dataset.POSITIONS)
        entry = dict(file=f"{name}.png", note=note,
                     truth=None if truth is None else {k: truth[k] for k in ("color", "shape", "position", "background")},
                     found={k: r[k] for k in ("background", "color", "position", "shape")},
                     area=r["area"], fill=r["fill"], mass=r["mass"],
                     centroid=None if r["centroid"] is None else [float(c) for c in r["centroid"]])
        if truth is not None:
            assert all(adherence.judge(r, truth).values()), (name, r)
        entries.append(entry)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"made_by": "tools/train/make_adherence_fixtures.py", "images": entries}, f, indent=1)
    total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print(f"wrote {len(entries)} fixtures to {out} ({total / 1000:.0f} KB)")


def main(argv):
    fixtures = argv[0] if argv else os.path.join(ROOT, "tests", "fixtures")
    adherence_fixtures(os.path.join(fixtures, "adherence"))
    tokenizer_fixture(os.path.join(fixtures, "shapes-tokenizer"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
