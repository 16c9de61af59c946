"""The procedural captioned data set of the bundled model: flat-coloured shapes on a flat background.

A scene is a background colour and one or two objects; an object is a colour, a shape (circle, axis-aligned
square, triangle pointing up), a size (small/large) and a position (one of five anchors, slightly jittered).
Its caption follows one small grammar:

    a large red circle on the left on a blue background
    an orange square at the top on a white background                 (size word left out: any size)
    a small green triangle on the left and a large yellow circle on the right on a black background

Pixels inside a shape have exactly the palette's RGB value; only the one-pixel anti-aliased rim blends with the
background, so a checker can classify colours by the nearest palette entry.

A fixed set of (object colour, shape, position, background) combinations is held out: no training image has an
object with such a combination, and the adherence evaluation prompts are made of exactly those.

Usage:
    python3 dataset.py heldout [OUT.json]     write the held-out set (default: heldout.json beside this file)
    python3 dataset.py samples OUT_DIR [N]    render N random training scenes as PNGs with their captions
"""
import json
import os
import sys

import numpy as np
import torch

IMAGE_SIZE = 128  # native pixel size of the bundled model (latents 16x16)

# Exact RGB of each colour word (order matters: it is the index used everywhere, also by the C# scorer).
PALETTE = {
    "red": (255, 0, 0),
    "green": (0, 170, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "purple": (128, 0, 192),
    "orange": (255, 128, 0),
    "white": (255, 255, 255),
    "black": (0, 0, 0),
}
COLORS = list(PALETTE)
SHAPES = ["circle", "square", "triangle"]
# Full extent (diameter, side, triangle width and height) as a fraction of the image side.
SIZES = {"small": 0.24, "large": 0.42}
SIZE_WORDS = list(SIZES)
# Anchor of each position phrase (x, y as fractions of the image, y down).
POSITIONS = {
    "in the center": (0.5, 0.5),
    "on the left": (0.25, 0.5),
    "on the right": (0.75, 0.5),
    "at the top": (0.5, 0.25),
    "at the bottom": (0.5, 0.75),
}
POSITION_PHRASES = list(POSITIONS)

POSITION_JITTER = 0.02   # uniform +- this fraction of the image
SIZE_JITTER = 0.05       # extent multiplied by uniform 1 +- this
MIN_GAP = 0.02           # two objects' boxes stay at least this far apart
HELDOUT_COUNT = 64
HELDOUT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "heldout.json")


def article(word):
    return "an" if word[0] in "aeiou" else "a"


def object_phrase(color, shape, position, size=None):
    words = ([size] if size else []) + [color, shape]
    return f"{article(words[0])} {' '.join(words)} {position}"


def caption(objects, background):
    """objects: list of (color, shape, position, size or None) word tuples."""
    return " and ".join(object_phrase(*o) for o in objects) + f" on {article(background)} {background} background"


def tuple_key(color, shape, position, background):
    """One integer per (colour, shape, position, background) index tuple; works on numpy arrays too."""
    return ((color * len(SHAPES) + shape) * len(POSITIONS) + position) * len(COLORS) + background


# ------------------------------------------------------------------------------------------- held-out set

def heldout_set():
    """64 (colour, shape, position, background) combinations, each colour 8 times as object, every shape,
    position and background several times; half of the prompts ask for a large object, half for a small one.
    (colour, shape, position) is i mod (8, 3, 5), unique for i < 120; the background is never the object's colour."""
    items = []
    for i in range(HELDOUT_COUNT):
        c, s, p = i % len(COLORS), i % len(SHAPES), i % len(POSITIONS)
        bg = (c + 1 + (i // len(COLORS)) % (len(COLORS) - 1)) % len(COLORS)
        size = SIZE_WORDS[1 - (i // len(COLORS)) % 2]  # large first
        items.append(dict(prompt=caption([(COLORS[c], SHAPES[s], POSITION_PHRASES[p], size)], COLORS[bg]),
                          color=COLORS[c], shape=SHAPES[s], position=POSITION_PHRASES[p], size=size,
                          background=COLORS[bg], seed=1000 + i))
    return items


def heldout_document():
    return {
        "description": "Held-out (colour, shape, position, background) combinations of the bundled model's training "
                       "data (tools/train/dataset.py): no training image contains them. One prompt and seed each.",
        "image_size": IMAGE_SIZE,
        "palette": {name: list(rgb) for name, rgb in PALETTE.items()},
        "shapes": SHAPES,
        "sizes": SIZES,
        "positions": {name: list(xy) for name, xy in POSITIONS.items()},
        "prompts": heldout_set(),
    }


def load_heldout(path=HELDOUT_PATH):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    expected = heldout_document()
    if doc["prompts"] != expected["prompts"] or doc["palette"] != expected["palette"]:
        raise SystemExit(f"{path} differs from dataset.py's held-out set: run `python3 dataset.py heldout`")
    return doc


def heldout_keys(doc):
    return np.array(sorted(tuple_key(COLORS.index(p["color"]), SHAPES.index(p["shape"]),
                                     POSITION_PHRASES.index(p["position"]), COLORS.index(p["background"]))
                           for p in doc["prompts"]), dtype=np.int64)


# ------------------------------------------------------------------------------------------- sampling scenes

class Scenes:
    """A batch of scenes as parallel arrays; object slot k in 0..1, `count` says how many slots are used."""

    def __init__(self, n):
        self.n = n
        self.background = np.zeros(n, np.int64)
        self.count = np.ones(n, np.int64)
        self.color = np.zeros((n, 2), np.int64)
        self.shape = np.zeros((n, 2), np.int64)
        self.position = np.zeros((n, 2), np.int64)
        self.size = np.zeros((n, 2), np.int64)
        self.say_size = np.ones((n, 2), bool)
        self.cx = np.zeros((n, 2))
        self.cy = np.zeros((n, 2))
        self.extent = np.zeros((n, 2))

    def captions(self):
        out = []
        for i in range(self.n):
            objects = [(COLORS[self.color[i, k]], SHAPES[self.shape[i, k]], POSITION_PHRASES[self.position[i, k]],
                        SIZE_WORDS[self.size[i, k]] if self.say_size[i, k] else None) for k in range(self.count[i])]
            out.append(caption(objects, COLORS[self.background[i]]))
        return out


def sample_scenes(rng, n, excluded_keys, two_object_fraction=0.3, say_size_fraction=0.85):
    """n random scenes (numpy Generator `rng`), none with an object whose (colour, shape, position, background)
    key is in `excluded_keys`. Two objects stand at opposite positions (left/right or top/bottom), where even two
    large ones never touch. Rows with a held-out tuple or an object coloured like the background are drawn again
    (keeping their object count) until none is left."""
    s = Scenes(n)
    s.count[:] = np.where(rng.random(n) < two_object_fraction, 2, 1)
    anchors = np.array([POSITIONS[p] for p in POSITION_PHRASES])
    extents = np.array([SIZES[w] for w in SIZE_WORDS])
    left, right, top, bottom = (POSITION_PHRASES.index(p) for p in ("on the left", "on the right", "at the top", "at the bottom"))
    pairs = np.array([[left, right], [right, left], [top, bottom], [bottom, top]])
    todo = np.arange(n)
    for _ in range(200):
        m = len(todo)
        two = s.count[todo] == 2
        s.background[todo] = rng.integers(0, len(COLORS), m)
        pair = pairs[rng.integers(0, len(pairs), m)]
        s.position[todo, 0] = np.where(two, pair[:, 0], rng.integers(0, len(POSITIONS), m))
        s.position[todo, 1] = pair[:, 1]
        for k in range(2):
            s.color[todo, k] = rng.integers(0, len(COLORS), m)
            s.shape[todo, k] = rng.integers(0, len(SHAPES), m)
            s.size[todo, k] = rng.integers(0, len(SIZES), m)
            s.say_size[todo, k] = rng.random(m) < say_size_fraction
            anchor = anchors[s.position[todo, k]]
            s.cx[todo, k] = anchor[:, 0] + rng.uniform(-POSITION_JITTER, POSITION_JITTER, m)
            s.cy[todo, k] = anchor[:, 1] + rng.uniform(-POSITION_JITTER, POSITION_JITTER, m)
            s.extent[todo, k] = extents[s.size[todo, k]] * rng.uniform(1 - SIZE_JITTER, 1 + SIZE_JITTER, m)
        bad = np.zeros(m, bool)
        for k in range(2):
            used = s.count[todo] > k
            key = tuple_key(s.color[todo, k], s.shape[todo, k], s.position[todo, k], s.background[todo])
            bad |= used & ((s.color[todo, k] == s.background[todo]) | np.isin(key, excluded_keys))
        todo = todo[bad]
        if len(todo) == 0:
            break
    else:
        raise RuntimeError("scene sampling did not converge")
    two = s.count == 2
    gap = np.maximum(np.abs(s.cx[:, 0] - s.cx[:, 1]), np.abs(s.cy[:, 0] - s.cy[:, 1])) - (s.extent[:, 0] + s.extent[:, 1]) / 2
    assert not np.any(two & (gap < MIN_GAP)), "two objects overlap"
    return s


# ------------------------------------------------------------------------------------------- rendering

def render(scenes, size=IMAGE_SIZE, device="cpu"):
    """Images of the scenes as a float tensor (n, 3, size, size) in [0, 1] (rgb / 255), on `device`.
    Coverage of each pixel by a shape is clamp(0.5 - signed distance in pixels, 0, 1): exact palette colours
    inside, a one-pixel anti-aliased rim."""
    t = lambda a, dtype=torch.float32: torch.as_tensor(a, dtype=dtype, device=device)
    palette = t(np.array([PALETTE[c] for c in COLORS], np.float32) / 255.0)
    n = scenes.n
    coords = (torch.arange(size, device=device, dtype=torch.float32) + 0.5)
    x = coords.view(1, 1, size)   # (1, 1, W)
    y = coords.view(1, size, 1)   # (1, H, 1)
    image = palette[t(scenes.background, torch.long)].view(n, 3, 1, 1).expand(n, 3, size, size).clone()
    for k in range(2):
        cx = t(scenes.cx[:, k] * size).view(n, 1, 1)
        cy = t(scenes.cy[:, k] * size).view(n, 1, 1)
        h = t(scenes.extent[:, k] * size / 2).view(n, 1, 1)
        dx, dy = x - cx, y - cy
        circle = torch.sqrt(dx * dx + dy * dy) - h
        square = torch.maximum(dx.abs(), dy.abs()) - h
        # Up-pointing triangle in the box [cx-h, cx+h] x [cy-h, cy+h]: apex (cx, cy-h), base on y = cy+h.
        # Outward normals of the slanted edges are (-2, -1)/sqrt(5) and (2, -1)/sqrt(5).
        base = dy - h
        left = (-2 * (dx + h) - (dy - h)) / 5 ** 0.5
        right = (2 * (dx - h) - (dy - h)) / 5 ** 0.5
        triangle = torch.maximum(base, torch.maximum(left, right))
        shape = t(scenes.shape[:, k], torch.long).view(n, 1, 1)
        distance = torch.where(shape == 0, circle, torch.where(shape == 1, square, triangle))
        coverage = (0.5 - distance).clamp(0, 1) * t(scenes.count > k).view(n, 1, 1)
        color = palette[t(scenes.color[:, k], torch.long)].view(n, 3, 1, 1)
        image = image + (color - image) * coverage.unsqueeze(1)
    return image


def to_uint8(images):
    """(n, 3, H, W) floats in [0, 1] -> (n, H, W, 3) uint8 numpy."""
    return (images.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def scene_for(color, shape, position, size, background, jitter_rng=None):
    """One single-object scene from words (no jitter unless a numpy Generator is given)."""
    s = Scenes(1)
    s.background[0] = COLORS.index(background)
    s.color[0, 0], s.shape[0, 0] = COLORS.index(color), SHAPES.index(shape)
    s.position[0, 0], s.size[0, 0] = POSITION_PHRASES.index(position), SIZE_WORDS.index(size)
    ax, ay = POSITIONS[position]
    j = jitter_rng.uniform(-POSITION_JITTER, POSITION_JITTER, 2) if jitter_rng is not None else (0, 0)
    s.cx[0, 0], s.cy[0, 0], s.extent[0, 0] = ax + j[0], ay + j[1], SIZES[size]
    return s


def main(argv):
    if len(argv) >= 1 and argv[0] == "heldout":
        path = argv[1] if len(argv) > 1 else HELDOUT_PATH
        with open(path, "w", encoding="utf-8") as f:
            json.dump(heldout_document(), f, indent=1)
            f.write("\n")
        print(f"wrote {path}: {HELDOUT_COUNT} held-out prompts")
    elif len(argv) >= 2 and argv[0] == "samples":
        from PIL import Image
        out, n = argv[1], int(argv[2]) if len(argv) > 2 else 16
        os.makedirs(out, exist_ok=True)
        scenes = sample_scenes(np.random.default_rng(0), n, heldout_keys(heldout_document()))
        images = to_uint8(render(scenes))
        with open(os.path.join(out, "captions.txt"), "w", encoding="utf-8") as f:
            for i, (img, cap) in enumerate(zip(images, scenes.captions())):
                Image.fromarray(img).save(os.path.join(out, f"{i:03d}.png"))
                f.write(f"{i:03d}.png\t{cap}\n")
        print(f"wrote {n} samples to {out}")
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
