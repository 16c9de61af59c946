"""Scores a generated image against the attributes its caption asked for (one object on a background).

The rules (SdSharp's C# scorer, src/SdSharp/Evaluation/AdherenceScorer.cs, implements the same ones, and its
tests check both agree on the fixtures that tools/train/make_adherence_fixtures.py writes):
 1. Every pixel takes the nearest palette colour (squared RGB distance; ties: the earlier palette entry).
 2. Background: the most frequent label on the border ring, max(1, round(side / 32)) pixels wide.
 3. Candidate object pixels: label != background. Keep the largest 4-connected component (ties: the one whose
    first pixel comes first in row-major order).
 4. Object colour: the most frequent label in that component (ties: the earlier palette entry).
 5. Object mask: pixels closer to the object colour than to the background colour along the line between the
    two (t = (p - bg).(obj - bg) / |obj - bg|^2 > 0.5, a 50 % coverage threshold), again its largest
    4-connected component. Fewer than MIN_AREA_FRACTION of the image: no object (colour, shape and position fail).
 6. Position: the centroid of the mask (pixel centres), as a fraction of the side, nearest position anchor.
 7. Shape: features fill = area / bounding-box area and mass = (centroid y - box top) / box height, nearest
    prototype in (fill, 2 * mass): circle (pi/4, 1), square (1, 1), triangle pointing up (1/2, 4/3).
"""
import math

import numpy as np

MIN_AREA_FRACTION = 0.002
SHAPE_PROTOTYPES = {"circle": (math.pi / 4, 1.0), "square": (1.0, 1.0), "triangle": (0.5, 4.0 / 3.0)}
MASS_WEIGHT = 2.0


def border_width(side):
    return max(1, int(math.floor(side / 32 + 0.5)))


def largest_component(mask):
    """Largest 4-connected component of a boolean (H, W) mask, ties to the earliest first pixel in row-major order.
    Vectorised: every pixel starts labelled with its own flat index; neighbours take the smaller label and labels
    jump to their pixel's label until nothing changes, so each component ends labelled with its first pixel."""
    h, w = mask.shape
    n = h * w
    if not mask.any():
        return np.zeros_like(mask)
    flat = mask.ravel()
    labels = np.where(flat, np.arange(n), n)  # n: background
    while True:
        g = labels.reshape(h, w)
        m = g.copy()
        np.minimum(m[1:, :], g[:-1, :], out=m[1:, :])
        np.minimum(m[:-1, :], g[1:, :], out=m[:-1, :])
        np.minimum(m[:, 1:], g[:, :-1], out=m[:, 1:])
        np.minimum(m[:, :-1], g[:, 1:], out=m[:, :-1])
        new = np.where(flat, m.ravel(), n)
        lookup = np.append(new, n)
        for _ in range(4):  # pointer jumping: a label is a pixel of the same component with a label of its own
            new = lookup[new]
            lookup = np.append(new, n)
        if np.array_equal(new, labels):
            break
        labels = new
    counts = np.bincount(labels[flat], minlength=n)
    return (labels == int(counts.argmax())).reshape(h, w)


def score(image, palette, positions):
    """image: (H, W, 3) uint8 RGB. palette: ordered {name: (r, g, b)}. positions: ordered {phrase: (x, y)}.
    Returns a dict of the classified background, color, position, shape (None where there is no object) and the
    measured features."""
    names = list(palette)
    colors = np.array([palette[n] for n in names], np.int64)
    img = image.astype(np.int64)
    h, w, _ = img.shape
    distances = ((img[:, :, None, :] - colors[None, None, :, :]) ** 2).sum(-1)   # (H, W, P)
    labels = distances.argmin(-1)                                              # first minimum: earlier entry

    b = border_width(min(h, w))
    ring = np.zeros((h, w), bool)
    ring[:b, :] = ring[-b:, :] = ring[:, :b] = ring[:, -b:] = True
    bg = int(np.bincount(labels[ring], minlength=len(names)).argmax())
    result = dict(background=names[bg], color=None, position=None, shape=None, area=0, fill=None, mass=None,
                  centroid=None)

    candidate = largest_component(labels != bg)
    if not candidate.any():
        return result
    obj = int(np.bincount(labels[candidate], minlength=len(names)).argmax())
    direction = colors[obj] - colors[bg]
    t = ((img - colors[bg]) * direction).sum(-1) / float((direction * direction).sum())
    mask = largest_component(t > 0.5)
    area = int(mask.sum())
    result["area"] = area
    if area < MIN_AREA_FRACTION * h * w:
        return result

    ys, xs = np.nonzero(mask)
    cx, cy = (xs.sum() / area + 0.5) / w, (ys.sum() / area + 0.5) / h
    top, bottom, left, right = ys.min(), ys.max(), xs.min(), xs.max()
    box_h, box_w = bottom - top + 1, right - left + 1
    fill = area / float(box_h * box_w)
    mass = (ys.sum() / area + 0.5 - top) / box_h
    position = min(positions, key=lambda p: (positions[p][0] - cx) ** 2 + (positions[p][1] - cy) ** 2)
    shape = min(SHAPE_PROTOTYPES, key=lambda s: (SHAPE_PROTOTYPES[s][0] - fill) ** 2
                + (SHAPE_PROTOTYPES[s][1] - MASS_WEIGHT * mass) ** 2)
    result.update(color=names[obj], position=position, shape=shape, fill=fill, mass=mass, centroid=(cx, cy))
    return result


def judge(result, expected):
    """Per attribute, whether the classified value is the expected one (expected: a held-out prompt entry)."""
    return {"background": result["background"] == expected["background"],
            "color": result["color"] == expected["color"],
            "position": result["position"] == expected["position"],
            "shape": result["shape"] == expected["shape"]}


TARGETS = {"color": 0.85, "background": 0.90, "position": 0.80, "shape": 0.70}


def summarize(judgements):
    """Fraction correct per attribute over a list of judge() dicts, with the issue's targets."""
    n = max(1, len(judgements))
    rates = {k: sum(j[k] for j in judgements) / n for k in TARGETS}
    lines = [f"{k:10s} {rates[k] * 100:5.1f}%  (target {TARGETS[k] * 100:.0f}%)  {'ok' if rates[k] >= TARGETS[k] else 'BELOW'}"
             for k in TARGETS]
    return rates, "\n".join(lines)
