#!/usr/bin/python3
"""Reference outputs for SdSharp.Imaging.Ops: Pillow resampling, blurs and compositing, OpenCV's mask blur, and
AUTOMATIC1111's img2img/inpaint image and mask preparation, on small deterministic inputs.

Runs on the CPU machine with Debian's packages (no pip): apt-get install python3-pil python3-opencv python3-numpy,
then

    /usr/bin/python3 tools/reference/make_imageops_fixtures.py      # writes tests/fixtures/imageops/

A1111 (v1.9/v1.10) pins Pillow 9.5; Debian 12 has 9.4. Between the two tags Resample.c, Geometry.c, Paste.c,
AlphaComposite.c and the blur code did not change (BoxBlur.c only gained a check for negative radii), so the
outputs are the ones A1111's Pillow gives. The versions used are written into manifest.json.

The a1111_* functions below restate what A1111's modules/images.py (resize_image, flatten), modules/masking.py
(get_crop_region_v2, get_crop_region, expand_crop_region, fill) and modules/processing.py
(StableDiffusionProcessingImg2Img.init, create_binary_mask, apply_overlay, uncrop) do with PIL, cv2 and numpy,
with upscaler_for_img2img at its default (None: plain LANCZOS) and img2img_background_color "#ffffff".

Output is deterministic (fixed seeds), so rerunning it leaves git clean.
"""

import json
import os
import shutil

import cv2
import numpy as np
import PIL
from PIL import Image, ImageDraw, ImageFilter, ImageOps

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "imageops")
FILTERS = {"nearest": Image.NEAREST, "box": Image.BOX, "bilinear": Image.BILINEAR,
           "hamming": Image.HAMMING, "bicubic": Image.BICUBIC, "lanczos": Image.LANCZOS}

manifest = {"versions": {"pillow": PIL.__version__, "opencv": cv2.__version__, "numpy": np.__version__},
            "inputs": {}, "resize": [], "gaussian": [], "cvblur": [], "cvkernels": [], "cvfixed": [], "composite": [],
            "a1111_resize": [], "binary_mask": [], "mask_blur": [], "crop_region": [], "fill": [],
            "img2img": [], "overlay": []}
written = set()


def save(name, im):
    assert name not in written, name
    written.add(name)
    im.save(os.path.join(OUT, name), optimize=True)
    return name


# ---------------------------------------------------------------------------------------------------------- inputs

def make_inputs():
    rng = np.random.RandomState(1234)
    inputs = {}

    inputs["rgb_noise"] = Image.fromarray(rng.randint(0, 256, (13, 19, 3), dtype=np.uint8), "RGB")
    inputs["l_noise"] = Image.fromarray(rng.randint(0, 256, (11, 15), dtype=np.uint8), "L")

    # A smooth picture with some texture: compresses, yet every pixel differs.
    y, x = np.mgrid[0:40, 0:48].astype(np.float64)
    r = 128 + 100 * np.sin(x / 7.0) * np.cos(y / 5.0)
    g = 255 * x / 47.0
    b = 255 * (1 - y / 39.0)
    photo = np.stack([r, g, b], axis=2) + rng.normal(0, 6, (40, 48, 3))
    inputs["rgb_photo"] = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8), "RGB")

    # Alpha from 0 to 255 across, with fully transparent and fully opaque columns; colours noisy.
    y, x = np.mgrid[0:15, 0:17].astype(np.float64)
    alpha = np.clip((x - 3) * 255.0 / 10.0, 0, 255)
    colour = np.stack([16 * y, 255 - 14 * x, 7 * (x + y)], axis=2) + rng.normal(0, 20, (15, 17, 3))
    rgba = np.concatenate([np.clip(colour, 0, 255), alpha[..., None]], axis=2).astype(np.uint8)
    inputs["rgba_grad"] = Image.fromarray(rgba, "RGBA")

    y, x = np.mgrid[0:11, 0:13].astype(np.float64)
    la = np.stack([np.clip(19 * x + rng.normal(0, 10, x.shape), 0, 255), np.clip(25 * y, 0, 255)], axis=2)
    inputs["la_grad"] = Image.fromarray(la.astype(np.uint8), "LA")

    # Masks as A1111 receives them: painted white blobs on black (L), and the UI's sketch layer (RGBA, alpha).
    m = Image.new("L", (48, 40), 0)
    d = ImageDraw.Draw(m)
    d.ellipse((6, 5, 19, 16), fill=255)
    d.ellipse((27, 20, 41, 35), fill=255)
    inputs["mask_blobs"] = m

    m = Image.new("L", (48, 40), 0)
    ImageDraw.Draw(m).rectangle((30, 0, 47, 9), fill=255)
    inputs["mask_corner"] = m

    m = Image.new("L", (48, 40), 0)
    ImageDraw.Draw(m).rectangle((20, 12, 22, 30), fill=255)
    inputs["mask_thin"] = m

    inputs["mask_empty"] = Image.new("L", (48, 40), 0)

    a = np.zeros((40, 48), np.uint8)
    a[8:30, 10:26] = 255
    a[12:20, 26:34] = 100  # partly painted: create_binary_mask rounds it away (100 <= 128) or keeps it
    a[22:26, 26:40] = 200
    sketch = np.zeros((40, 48, 4), np.uint8)
    sketch[..., 3] = a
    inputs["mask_alpha"] = Image.fromarray(sketch, "RGBA")

    for name, im in inputs.items():
        manifest["inputs"][name] = save(f"in_{name}.png", im)
    return inputs


# ------------------------------------------------------------------------------------------------- Pillow basics

def resize_cases(inputs):
    sizes = [(7, 5), (29, 23), (30, 6), (5, 20), (1, 1)]
    for src in ("l_noise", "rgb_noise", "rgba_grad", "la_grad"):
        im = inputs[src]
        for fname, f in FILTERS.items():
            for w, h in sizes:
                out = save(f"resize_{src}_{fname}_{w}x{h}.png", im.resize((w, h), f))
                manifest["resize"].append({"input": src, "filter": fname, "width": w, "height": h,
                                           "box": None, "expected": out})
    # Boxes: the zero-height/zero-width strips resize_image's fill mode stretches, fractional boxes, and an
    # integral box of the output's size (Pillow crops instead of resampling).
    im = inputs["rgb_noise"]
    boxes = [((0, 0, 19, 0), (19, 5)), ((0, 13, 19, 13), (19, 4)), ((0, 0, 0, 13), (6, 13)),
             ((19, 0, 19, 13), (3, 13)), ((2.5, 1.25, 15.75, 10.5), (11, 7)), ((3, 2, 14, 9), (11, 7)),
             ((0.3, 0, 19, 13), (19, 13))]
    for i, (box, (w, h)) in enumerate(boxes):
        for fname, f in FILTERS.items():
            out = save(f"resizebox{i}_{fname}.png", im.resize((w, h), f, box=box))
            manifest["resize"].append({"input": "rgb_noise", "filter": fname, "width": w, "height": h,
                                       "box": list(box), "expected": out})


def gaussian_cases(inputs):
    """ImageFilter.GaussianBlur (three extended box blurs) on L, RGB and RGBA; masking.fill runs it on RGBa."""
    for src in ("l_noise", "rgb_noise", "rgba_grad"):
        for radius in (0, 0.5, 1, 2, 2.5, 4, 16, 64, 256):
            out = save(f"gauss_{src}_{radius}.png", inputs[src].filter(ImageFilter.GaussianBlur(radius)))
            manifest["gaussian"].append({"input": src, "radius": radius, "expected": out})


def composite_cases(inputs):
    """alpha_composite, paste with an L mask, premultiply round trip, flatten (images.flatten)."""
    rng = np.random.RandomState(99)
    dst = inputs["rgba_grad"]
    src_arr = rng.randint(0, 256, (15, 17, 4), dtype=np.uint8)
    src_arr[:3, :, 3] = 0
    src_arr[3:6, :, 3] = 255
    src = Image.fromarray(src_arr, "RGBA")
    save("comp_src.png", src)
    manifest["inputs"]["comp_src"] = "comp_src.png"

    out = save("comp_alpha.png", Image.alpha_composite(dst, src))
    manifest["composite"].append({"op": "alpha_composite", "a": "rgba_grad", "b": "comp_src", "expected": out})

    mask = Image.fromarray(rng.randint(0, 256, (15, 17), dtype=np.uint8), "L")
    save("comp_mask.png", mask)
    manifest["inputs"]["comp_mask"] = "comp_mask.png"
    base = src.copy()
    base.paste(dst, (0, 0), mask)
    out = save("comp_paste_mask.png", base)
    manifest["composite"].append({"op": "paste_mask", "a": "comp_src", "b": "rgba_grad", "mask": "comp_mask",
                                  "expected": out})

    # RGBA -> RGBa -> RGBA (what resize and the overlay do); RGBa cannot be saved, so save the round trip.
    out = save("comp_premul_roundtrip.png", dst.convert("RGBa").convert("RGBA"))
    manifest["composite"].append({"op": "premultiply_roundtrip", "a": "rgba_grad", "expected": out})

    bg = Image.new("RGBA", dst.size, "#ffffff")
    bg.paste(dst, mask=dst)
    out = save("comp_flatten.png", bg.convert("RGB"))
    manifest["composite"].append({"op": "flatten", "a": "rgba_grad", "expected": out})


# ------------------------------------------------------------------------------------------------------- OpenCV

def cv_cases(inputs):
    """cv2.GaussianBlur on uint8 masks, A1111's kernel sizes and others, including kernels wider than the image."""
    rng = np.random.RandomState(7)
    srcs = {name: np.array(inputs[name]) for name in ("mask_blobs", "l_noise", "rgb_noise")}
    for w, h in ((1, 9), (2, 9), (3, 5), (6, 4)):
        name = f"tiny{w}x{h}"
        arr = rng.randint(0, 256, (h, w), dtype=np.uint8)
        srcs[name] = arr
        manifest["inputs"][name] = save(f"in_{name}.png", Image.fromarray(arr, "L"))
    cases = []
    for src in ("mask_blobs", "l_noise"):
        for sigma in (1, 2, 3, 4, 7, 16):
            k = 2 * int(2.5 * sigma + 0.5) + 1
            cases += [(src, k, 1, sigma), (src, 1, k, sigma)]
        cases += [(src, 5, 5, 1.1), (src, 3, 3, 0.8), (src, 9, 1, 0), (src, 7, 3, 2.2), (src, 5, 1, 1)]
    cases += [("rgb_noise", 5, 3, 1.2), ("rgb_noise", 1, 7, 2)]  # every channel alike
    for src in ("tiny1x9", "tiny2x9", "tiny3x5", "tiny6x4"):
        cases += [(src, 5, 1, 2), (src, 1, 5, 2), (src, 21, 1, 4), (src, 1, 21, 4), (src, 3, 3, 1)]
    for i, (src, kw, kh, sigma) in enumerate(cases):
        out = save(f"cvblur{i:02d}.png", Image.fromarray(cv2.GaussianBlur(srcs[src], (kw, kh), sigma)))
        manifest["cvblur"].append({"input": src, "kw": kw, "kh": kh, "sigma": sigma, "expected": out})
    for n, sigma in ((1, 1), (3, 0), (7, 0), (9, 0.0), (11, 0), (5, 1.1), (21, 4), (41, 8), (321, 64), (13, 2.5),
                     (31, 6)):
        kernel = cv2.getGaussianKernel(n, sigma, cv2.CV_64F).ravel()
        manifest["cvkernels"].append({"n": n, "sigma": sigma, "bits": [int(v.view(np.int64)) for v in kernel]})
    # The 8-bit blur uses the kernel quantised to 8 fractional bits (getGaussianKernelFixedPoint_ED, restated
    # here on cv2's double kernel): these integers decide the output, for every mask blur A1111's slider offers.
    for sigma in range(1, 65):
        n = 2 * int(2.5 * sigma + 0.5) + 1
        kernel = cv2.getGaussianKernel(n, sigma, cv2.CV_64F).ravel()
        err, fixed = 0.0, []
        for i in range(n // 2):
            adj = kernel[i] * 256.0 + err
            v = int(np.rint(adj))
            err = adj - v
            fixed.append(v)
        fixed.append(256 - 2 * sum(fixed))
        manifest["cvfixed"].append({"n": n, "sigma": sigma, "half": fixed})


# -------------------------------------------------------------------------------------------------------- A1111

def a1111_resize_image(mode, im, width, height):
    """images.resize_image with no upscaler: LANCZOS; modes 1 and 2 paste onto a new RGB canvas; any mode other
    than 0 and 1 is 'resize and fill'."""
    def resize(im, w, h):
        return im.resize((w, h), resample=Image.LANCZOS)

    if mode == 0:
        return resize(im, width, height)
    ratio = width / height
    src_ratio = im.width / im.height
    if mode == 1:
        src_w = width if ratio > src_ratio else im.width * height // im.height
        src_h = height if ratio <= src_ratio else im.height * width // im.width
        resized = resize(im, src_w, src_h)
        res = Image.new("RGB", (width, height))
        res.paste(resized, box=(width // 2 - src_w // 2, height // 2 - src_h // 2))
        return res
    src_w = width if ratio < src_ratio else im.width * height // im.height
    src_h = height if ratio >= src_ratio else im.height * width // im.width
    resized = resize(im, src_w, src_h)
    res = Image.new("RGB", (width, height))
    res.paste(resized, box=(width // 2 - src_w // 2, height // 2 - src_h // 2))
    if ratio < src_ratio:
        fill_height = height // 2 - src_h // 2
        if fill_height > 0:
            res.paste(resized.resize((width, fill_height), box=(0, 0, width, 0)), box=(0, 0))
            res.paste(resized.resize((width, fill_height), box=(0, resized.height, width, resized.height)),
                      box=(0, fill_height + src_h))
    elif ratio > src_ratio:
        fill_width = width // 2 - src_w // 2
        if fill_width > 0:
            res.paste(resized.resize((fill_width, height), box=(0, 0, 0, height)), box=(0, 0))
            res.paste(resized.resize((fill_width, height), box=(resized.width, 0, resized.width, height)),
                      box=(fill_width + src_w, 0))
    return res


def a1111_flatten(img):
    if img.mode == "RGBA":
        background = Image.new("RGBA", img.size, "#ffffff")
        background.paste(img, mask=img)
        img = background
    return img.convert("RGB")


def a1111_create_binary_mask(image, round=True):
    if image.mode == "RGBA" and image.getextrema()[-1] != (255, 255):
        image = image.split()[-1].convert("L")
        if round:
            image = image.point(lambda x: 255 if x > 128 else 0)
    else:
        image = image.convert("L")
    return image


def a1111_blur(mask, blur_x, blur_y):
    if blur_x > 0:
        k = 2 * int(2.5 * blur_x + 0.5) + 1
        mask = Image.fromarray(cv2.GaussianBlur(np.array(mask), (k, 1), blur_x))
    if blur_y > 0:
        k = 2 * int(2.5 * blur_y + 0.5) + 1
        mask = Image.fromarray(cv2.GaussianBlur(np.array(mask), (1, k), blur_y))
    return mask


def a1111_crop_region_v2(mask, pad):
    box = mask.getbbox()
    if not box:
        return None
    x1, y1, x2, y2 = box
    return (max(x1 - pad, 0), max(y1 - pad, 0), min(x2 + pad, mask.size[0]), min(y2 + pad, mask.size[1])) \
        if pad else box


def a1111_crop_region(mask, pad):
    box = a1111_crop_region_v2(mask, pad)
    if box:
        return box
    x1, y1 = mask.size
    return max(x1 - pad, 0), max(y1 - pad, 0), min(pad, mask.size[0]), min(pad, mask.size[1])


def a1111_expand_crop_region(region, pw, ph, iw, ih):
    x1, y1, x2, y2 = region
    if (x2 - x1) / (y2 - y1) > pw / ph:
        diff = int((x2 - x1) / (pw / ph) - (y2 - y1))
        y1 -= diff // 2
        y2 += diff - diff // 2
        if y2 >= ih:
            y1 -= y2 - ih
            y2 = ih
        if y1 < 0:
            y2 -= y1
            y1 = 0
        if y2 >= ih:
            y2 = ih
    else:
        diff = int((y2 - y1) * (pw / ph) - (x2 - x1))
        x1 -= diff // 2
        x2 += diff - diff // 2
        if x2 >= iw:
            x1 -= x2 - iw
            x2 = iw
        if x1 < 0:
            x2 -= x1
            x1 = 0
        if x2 >= iw:
            x2 = iw
    return x1, y1, x2, y2


def a1111_fill(image, mask):
    image_mod = Image.new("RGBA", (image.width, image.height))
    image_masked = Image.new("RGBa", (image.width, image.height))
    image_masked.paste(image.convert("RGBA").convert("RGBa"), mask=ImageOps.invert(mask.convert("L")))
    image_masked = image_masked.convert("RGBa")
    for radius, repeats in [(256, 1), (64, 1), (16, 2), (4, 4), (2, 2), (0, 1)]:
        blurred = image_masked.filter(ImageFilter.GaussianBlur(radius)).convert("RGBA")
        for _ in range(repeats):
            image_mod.alpha_composite(blurred)
    return image_mod.convert("RGB")


def a1111_img2img_init(init, mask, width, height, resize_mode=0, blur_x=4, blur_y=4, mask_round=True,
                       inpainting_fill=0, full_res=True, padding=0, invert=False, latent=8):
    """The image-side part of StableDiffusionProcessingImg2Img.init for one init image (batch 1)."""
    crop_region = None
    paste_to = None
    mask_for_overlay = None
    image_mask = mask
    if image_mask is not None:
        image_mask = a1111_create_binary_mask(image_mask, round=mask_round)
        if invert:
            image_mask = ImageOps.invert(image_mask)
        image_mask = a1111_blur(image_mask, blur_x, blur_y)
        if full_res:
            mask_for_overlay = image_mask
            m = image_mask.convert("L")
            crop_region = a1111_crop_region_v2(m, padding)
            if crop_region:
                crop_region = a1111_expand_crop_region(crop_region, width, height, m.width, m.height)
                x1, y1, x2, y2 = crop_region
                image_mask = a1111_resize_image(2, m.crop(crop_region), width, height)
                paste_to = (x1, y1, x2 - x1, y2 - y1)
            else:
                crop_region = image_mask = mask_for_overlay = None
        else:
            image_mask = a1111_resize_image(resize_mode, image_mask, width, height)
            np_mask = np.clip(np.array(image_mask).astype(np.float32) * 2, 0, 255).astype(np.uint8)
            mask_for_overlay = Image.fromarray(np_mask)
    latent_mask = image_mask

    image = a1111_flatten(init)
    if crop_region is None and resize_mode != 3:
        image = a1111_resize_image(resize_mode, image, width, height)
    overlay = None
    if image_mask is not None:
        if mask_for_overlay.size != (image.width, image.height):
            mask_for_overlay = a1111_resize_image(resize_mode, mask_for_overlay, image.width, image.height)
        image_masked = Image.new("RGBa", (image.width, image.height))
        image_masked.paste(image.convert("RGBA").convert("RGBa"), mask=ImageOps.invert(mask_for_overlay.convert("L")))
        overlay = image_masked.convert("RGBA")
    if crop_region is not None:
        image = a1111_resize_image(2, image.crop(crop_region), width, height)
    if image_mask is not None and inpainting_fill != 1:
        image = a1111_fill(image, latent_mask)

    latmask = None
    if image_mask is not None:
        # The latent is (height // 8, width // 8): resize mode 3 interpolates it to that size before the mask.
        latmask = latent_mask.convert("RGB").resize((width // latent, height // latent))
        latmask = np.moveaxis(np.array(latmask, dtype=np.float32), 2, 0) / 255
        latmask = latmask[0]
        if mask_round:
            latmask = np.around(latmask)
    return image, mask_for_overlay, overlay, paste_to, latmask


def a1111_apply_overlay(image, paste_loc, overlay):
    if overlay is None:
        return image
    if paste_loc is not None:
        x, y, w, h = paste_loc
        base = Image.new("RGBA", (overlay.width, overlay.height))
        base.paste(a1111_resize_image(1, image, w, h), (x, y))
        image = base
    image = image.convert("RGBA")
    image.alpha_composite(overlay)
    return image.convert("RGB")


def a1111_cases(inputs):
    n = 0
    for src in ("rgb_photo", "rgba_grad", "l_noise"):
        for mode in (0, 1, 2, 3):
            for w, h in ((32, 24), (20, 30), (24, 24), (56, 36)):
                out = save(f"a1111resize_{n:02d}.png", a1111_resize_image(mode, inputs[src], w, h))
                manifest["a1111_resize"].append({"input": src, "mode": mode, "width": w, "height": h,
                                                 "expected": out})
                n += 1
    for src in ("mask_alpha", "mask_blobs", "rgb_photo"):
        for rnd in (True, False):
            out = save(f"binmask_{src}_{int(rnd)}.png", a1111_create_binary_mask(inputs[src], rnd))
            manifest["binary_mask"].append({"input": src, "round": rnd, "expected": out})
    for i, (bx, by) in enumerate(((4, 4), (0, 3), (2, 0), (7, 1), (1, 1), (16, 16))):
        for src in ("mask_blobs", "mask_thin"):
            out = save(f"maskblur_{src}_{i}.png", a1111_blur(inputs[src], bx, by))
            manifest["mask_blur"].append({"input": src, "blur_x": bx, "blur_y": by, "expected": out})
    for src in ("mask_blobs", "mask_corner", "mask_thin", "mask_empty"):
        for pad in (0, 3, 32):
            m = inputs[src]
            v2 = a1111_crop_region_v2(m, pad)
            legacy = a1111_crop_region(m, pad)
            expanded = {}
            if v2:
                for pw, ph in ((64, 64), (64, 32), (32, 64), (48, 40), (512, 768)):
                    expanded[f"{pw}x{ph}"] = list(a1111_expand_crop_region(v2, pw, ph, m.width, m.height))
            manifest["crop_region"].append({"input": src, "pad": pad, "v2": list(v2) if v2 else None,
                                            "legacy": list(legacy), "expanded": expanded})
    for i, (img, mask) in enumerate((("rgb_photo", "mask_blobs"), ("rgb_photo", "mask_corner"),
                                     ("rgb_noise", None))):
        image = inputs[img]
        m = inputs[mask] if mask else Image.fromarray((np.arange(image.width * image.height) % 7 == 0)
                                                      .reshape(image.height, image.width).astype(np.uint8) * 255)
        m = a1111_blur(m, 2, 2)
        if not mask:
            manifest["inputs"]["fill_mask2"] = save("in_fill_mask2.png", m)
        out = save(f"fill_{i}.png", a1111_fill(image, m))
        manifest["fill"].append({"image": img, "mask": mask or "fill_mask2", "blur": 0 if not mask else 2,
                                 "expected": out})

    cases = [dict(mask="mask_blobs"),
             dict(mask="mask_blobs", full_res=False),
             dict(mask="mask_alpha", width=32, height=32, padding=4),
             dict(mask="mask_alpha", mask_round=False, blur_x=2, blur_y=6, width=24, height=40, padding=32),
             dict(mask="mask_corner", width=16, height=16, inpainting_fill=1),
             dict(mask="mask_thin", width=48, height=24, invert=True),
             dict(mask="mask_thin", full_res=False, resize_mode=1, width=48, height=24),
             dict(mask="mask_thin", full_res=False, resize_mode=2, width=24, height=40, blur_x=0, blur_y=0),
             dict(mask="mask_blobs", full_res=False, resize_mode=3, width=40, height=40, inpainting_fill=1),
             dict(mask="mask_empty", width=32, height=24),
             dict(mask=None, width=40, height=24, resize_mode=1),
             dict(mask="mask_blobs", init="rgba_grad", width=24, height=24, inpainting_fill=2)]
    for i, case in enumerate(cases):
        init = case.pop("init", "rgb_photo")
        mask = case.pop("mask")
        params = dict(width=32, height=24)
        params.update(case)
        image, mfo, overlay, paste_to, latmask = a1111_img2img_init(inputs[init], inputs[mask] if mask else None,
                                                                    **params)
        entry = {"init": init, "mask": mask, "params": params, "paste_to": list(paste_to) if paste_to else None,
                 "image": save(f"i2i_{i:02d}_image.png", image)}
        if mfo is not None:
            entry["mask_for_overlay"] = save(f"i2i_{i:02d}_mfo.png", mfo.convert("L"))
            entry["mask_for_overlay_mode"] = mfo.mode
        if overlay is not None:
            entry["overlay"] = save(f"i2i_{i:02d}_overlay.png", overlay)
        if latmask is not None:
            entry["latent_mask"] = {"width": latmask.shape[1], "height": latmask.shape[0],
                                    "values": [float(v) for v in latmask.ravel()]}
        manifest["img2img"].append(entry)

        # After decoding: a made-up decoded picture of the processing size (a formula the tests repeat),
        # composited like A1111 does.
        if overlay is not None:
            y, x, c = np.mgrid[0:params["height"], 0:params["width"], 0:3]
            decoded = Image.fromarray(((x * 7 + y * 13 + c * 101 + i * 29) % 256).astype(np.uint8), "RGB")
            if paste_to is None and (decoded.size != overlay.size):
                continue  # A1111 fails here (resize mode 3 without a crop): nothing to compare
            out = save(f"i2i_{i:02d}_final.png", a1111_apply_overlay(decoded, paste_to, overlay))
            manifest["overlay"].append({"case": i, "expected": out})


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    inputs = make_inputs()
    resize_cases(inputs)
    gaussian_cases(inputs)
    composite_cases(inputs)
    cv_cases(inputs)
    a1111_cases(inputs)
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"{len(os.listdir(OUT))} files, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
