#!/usr/bin/env python3
"""Reference PNGs for SdSharp's decoder tests, written without SdSharp and without an image library.

Only the standard library (zlib, struct, binascii): the chunks, filters, bit packing and Adam7 interlacing are
done here from the PNG specification, so the C# decoder is checked against an independent encoder. Every
colour type and bit depth, all five filters (rows cycle through them), both interlace methods, IDAT split into
many chunks (some empty), ancillary chunks to skip, tRNS, text chunks of the three kinds, and a few broken files.

For each image we also write the pixels SdSharp's decoder must return: 8 bits per sample, low bit depths
stretched to 0..255, 16-bit samples cut to their high byte, palettes expanded, tRNS turned into an alpha channel.

    python3 tools/reference/make_png_fixtures.py        # writes tests/fixtures/png/

Output is deterministic (fixed seeds), so rerunning it leaves git clean.
"""

import binascii
import json
import os
import random
import struct
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "png")

GRAY, RGB, PALETTE, GRAY_ALPHA, RGBA = 0, 2, 3, 4, 6
SAMPLES = {GRAY: 1, RGB: 3, PALETTE: 1, GRAY_ALPHA: 2, RGBA: 4}
DEPTHS = {GRAY: (1, 2, 4, 8, 16), RGB: (8, 16), PALETTE: (1, 2, 4, 8), GRAY_ALPHA: (8, 16), RGBA: (8, 16)}
NAMES = {GRAY: "gray", RGB: "rgb", PALETTE: "palette", GRAY_ALPHA: "grayalpha", RGBA: "rgba"}

# (x start, y start, x step, y step) of the seven Adam7 passes
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", binascii.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(samples, depth):
    """Samples (ints) to bytes: big-endian for 16 bits, most significant bits first below 8, zero-padded."""
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    if depth == 8:
        return bytes(samples)
    out, acc, bits = bytearray(), 0, 0
    for s in samples:
        acc = (acc << depth) | s
        bits += depth
        if bits == 8:
            out.append(acc)
            acc, bits = 0, 0
    if bits:
        out.append(acc << (8 - bits))
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_row(kind, row, prev, bpp):
    out = bytearray(len(row))
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        predictor = (0, a, b, (a + b) // 2, paeth(a, b, c))[kind]
        out[i] = (x - predictor) & 0xFF
    return bytes([kind]) + bytes(out)


def serialize(pixels, depth, spp, first_filter):
    """Filtered scanlines of one (sub)image; pixels is rows of lists of sample tuples."""
    bpp = max(1, spp * depth // 8)
    out, prev = bytearray(), None
    for r, row in enumerate(pixels):
        raw = pack_row([s for px in row for s in px], depth)
        prev = prev or bytes(len(raw))
        out += filter_row((first_filter + r) % 5, raw, prev, bpp)
        prev = raw
    return bytes(out)


def image_data(pixels, width, height, depth, spp, interlace):
    if not interlace:
        return serialize(pixels, depth, spp, 0)
    out = bytearray()
    for p, (xs, ys, dx, dy) in enumerate(ADAM7):
        sub = [[pixels[y][x] for x in range(xs, width, dx)] for y in range(ys, height, dy)]
        if sub and sub[0]:  # empty passes contribute nothing, not even filter bytes
            out += serialize(sub, depth, spp, p)
    return bytes(out)


def to_byte(value, depth):
    if depth == 16:
        return value >> 8
    return value * 255 // ((1 << depth) - 1)


def expected_pixels(pixels, color, depth, palette, trns):
    """The decoder's 8-bit output, and its channel count."""
    out = bytearray()
    for row in pixels:
        for px in row:
            if color == PALETTE:
                i = px[0]
                out += bytes(palette[i])
                if trns is not None:
                    out.append(trns[i] if i < len(trns) else 255)
            else:
                out += bytes(to_byte(s, depth) for s in px)
                if trns is not None:  # a tRNS colour: gray value or RGB triple at full depth
                    out.append(0 if tuple(px) == tuple(trns) else 255)
    channels = {GRAY: 1, RGB: 3, PALETTE: 3, GRAY_ALPHA: 2, RGBA: 4}[color] + (1 if trns is not None else 0)
    return bytes(out), channels


def random_pixels(rng, width, height, color, depth, palette_size):
    top = palette_size - 1 if color == PALETTE else (1 << depth) - 1
    rows = []
    for y in range(height):
        row = []
        for x in range(width):
            # Half smooth ramps (so Sub/Up/Average/Paeth predict well), half noise; both must decode exactly.
            if (x + y) % 2:
                row.append(tuple(rng.randint(0, top) for _ in range(SAMPLES[color])))
            else:
                row.append(tuple(((x * 37 + y * 11 + k * 71) * top // 97) % (top + 1) for k in range(SAMPLES[color])))
        rows.append(row)
    return rows


def split(data, size):
    """IDAT payloads: one chunk, or pieces of `size` bytes with an empty chunk in the middle."""
    if not size:
        return [data]
    parts = [data[i:i + size] for i in range(0, len(data), size)]
    parts.insert(len(parts) // 2, b"")
    return parts


def text_chunk(kind, keyword, value, compressed=False, lang="", tkey=""):
    key = keyword.encode("latin-1")
    if kind == "tEXt":
        return chunk(b"tEXt", key + b"\0" + value.encode("latin-1"))
    if kind == "zTXt":
        return chunk(b"zTXt", key + b"\0\0" + zlib.compress(value.encode("latin-1")))
    body = value.encode("utf-8")
    if compressed:
        body = zlib.compress(body, 9)
    head = key + b"\0" + bytes([1 if compressed else 0, 0]) + lang.encode("utf-8") + b"\0" + tkey.encode("utf-8") + b"\0"
    return chunk(b"iTXt", head + body)


def build_png(width, height, color, depth, interlace, pixels, palette=None, trns=None, before=(), after=(),
              idat_split=0, level=6, raw_idat=None):
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    out += b"".join(before)
    if palette is not None:
        out += chunk(b"PLTE", b"".join(bytes(p) for p in palette))
    if trns is not None:
        if color == PALETTE:
            out += chunk(b"tRNS", bytes(trns))
        else:
            out += chunk(b"tRNS", b"".join(struct.pack(">H", v) for v in trns))
    data = raw_idat if raw_idat is not None else zlib.compress(
        image_data(pixels, width, height, depth, SAMPLES[color], interlace), level)
    out += b"".join(chunk(b"IDAT", part) for part in split(data, idat_split))
    out += b"".join(after)
    return out + chunk(b"IEND", b"")


class Fixtures:
    def __init__(self):
        self.manifest = []
        self.rng = random.Random(20240607)
        os.makedirs(OUT, exist_ok=True)
        for name in os.listdir(OUT):
            if name.endswith((".png", ".pixels", ".json")):
                os.remove(os.path.join(OUT, name))

    def image(self, name, width, height, color, depth, interlace=0, palette_size=None, trns=None, text=(), **extra):
        palette = None
        if color == PALETTE:
            palette_size = palette_size or (1 << depth)
            palette = [(self.rng.randrange(256), self.rng.randrange(256), self.rng.randrange(256)) for _ in range(palette_size)]
        pixels = random_pixels(self.rng, width, height, color, depth, palette_size or 0)
        if trns == "present" and color != PALETTE:
            trns = pixels[height // 2][width // 2]  # a colour the image contains, so some pixels turn transparent
        png = build_png(width, height, color, depth, interlace, pixels, palette, trns, **extra)
        expected, channels = expected_pixels(pixels, color, depth, palette, trns)
        self.write(name, png)
        with open(os.path.join(OUT, name + ".pixels"), "wb") as f:
            f.write(expected)
        self.manifest.append({"file": name + ".png", "width": width, "height": height, "channels": channels,
                              "bitDepth": depth, "colorType": color, "interlaced": bool(interlace),
                              "pixels": name + ".pixels", "text": list(text)})

    def broken(self, name, png, error):
        self.write(name, png)
        self.manifest.append({"file": name + ".png", "error": error})

    def write(self, name, png):
        with open(os.path.join(OUT, name + ".png"), "wb") as f:
            f.write(png)

    def save_manifest(self):
        with open(os.path.join(OUT, "manifest.json"), "w") as f:
            json.dump(self.manifest, f, indent=1, ensure_ascii=True)
            f.write("\n")


def main():
    fx = Fixtures()
    splits, levels = [0, 1, 7, 64], [6, 0, 9, 1]
    n = 0
    for color in (GRAY, RGB, PALETTE, GRAY_ALPHA, RGBA):
        for depth in DEPTHS[color]:
            for interlace in (0, 1):
                # 13x11: odd sizes leave padding bits in packed rows and make every Adam7 pass non-empty.
                fx.image(f"{NAMES[color]}{depth}{'_adam7' if interlace else ''}", 13, 11, color, depth, interlace,
                         idat_split=splits[n % 4], level=levels[(n // 4) % 4])
                n += 1

    # Tiny images where some Adam7 passes are empty.
    fx.image("rgb8_adam7_1x1", 1, 1, RGB, 8, 1)
    fx.image("gray1_adam7_3x2", 3, 2, GRAY, 1, 1)
    fx.image("rgba16_adam7_9x1", 9, 1, RGBA, 16, 1)
    fx.image("gray2_adam7_1x9", 1, 9, GRAY, 2, 1)

    # Transparency: a tRNS colour on gray and RGB (compared at full bit depth), and alpha per palette entry.
    for depth in (1, 4, 8, 16):
        fx.image(f"gray{depth}_trns", 9, 7, GRAY, depth, trns="present")
    fx.image("rgb8_trns", 9, 7, RGB, 8, trns="present")
    fx.image("rgb16_trns_adam7", 9, 7, RGB, 16, 1, trns="present")
    fx.image("palette8_trns", 9, 7, PALETTE, 8, palette_size=40, trns=[fx.rng.randrange(256) for _ in range(40)])
    fx.image("palette2_trns_short", 9, 7, PALETTE, 2, trns=[0, 128])  # entries past tRNS stay opaque

    # Ancillary chunks to skip (known and private), before and after the image data.
    skip_before = [chunk(b"gAMA", struct.pack(">I", 45455)), chunk(b"prVt", b"private data"),
                   chunk(b"tIME", struct.pack(">HBBBBB", 2024, 6, 7, 12, 0, 0))]
    fx.image("ancillary", 8, 8, RGB, 8, before=skip_before, after=[chunk(b"zzZz", bytes(100))])

    # Text of the three kinds; A1111's parameters as PIL writes them (tEXt when Latin-1, else plain iTXt).
    params = ("a photo of a café, masterpiece\nNegative prompt: blurry\n"
              "Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.5, Seed: 1234, Size: 512x512")
    texts = [
        ("tEXt", "parameters", params, False, "", ""),
        ("zTXt", "Comment", "compressed Latin-1 ü " * 20, True, "", ""),
        ("iTXt", "Title", "日本語のタイトル", False, "ja", "タイトル"),
        ("iTXt", "Description", "compressed UTF-8: Ωμέγα 🙂 " * 10, True, "el", ""),
    ]
    before = [text_chunk(k, key, v, c, lang, tkey) for k, key, v, c, lang, tkey in texts]
    # Malformed text chunks PIL skips too: invalid UTF-8, unknown compression method, broken zlib stream.
    before += [chunk(b"iTXt", b"Bad\0\0\0\0\0\xff\xfe"), chunk(b"zTXt", b"Odd\0\x01whatever"),
               chunk(b"zTXt", b"Broken\0\0not zlib at all")]
    after = [text_chunk("tEXt", "Software", "reference script"),
             text_chunk("iTXt", "parameters", "Prompt: 猫, Steps: 20")]
    texts.append(("tEXt", "Software", "reference script", False, "", ""))
    texts.append(("iTXt", "parameters", "Prompt: 猫, Steps: 20", False, "", ""))
    kinds = {"tEXt": "Text", "zTXt": "CompressedText", "iTXt": "InternationalText"}
    fx.image("text", 4, 3, RGB, 8, before=before, after=after,
             text=[{"kind": kinds[k], "keyword": key, "value": v, "compressed": c, "languageTag": lang,
                    "translatedKeyword": tkey} for k, key, v, c, lang, tkey in texts])

    # Broken files, each with one clear message.
    good = [[(x * 20, y * 20, 7) for x in range(4)] for y in range(4)]
    rows = image_data(good, 4, 4, 8, 3, 0)
    bad_filter = bytearray(rows)
    bad_filter[13 * 2] = 5  # third row's filter byte
    fx.broken("bad_filter", build_png(4, 4, RGB, 8, 0, good, raw_idat=zlib.compress(bytes(bad_filter))),
              "invalid filter type 5 in image data")
    fx.broken("short_data", build_png(4, 4, RGB, 8, 0, good, raw_idat=zlib.compress(rows[:-5])), 
              "image data ends early (IDAT holds fewer bytes than the image needs)")
    fx.broken("corrupt_zlib", build_png(4, 4, RGB, 8, 0, good, raw_idat=b"\x78\x9c" + bytes(range(200, 256)) * 3),
              "corrupt image data in IDAT (not a valid zlib stream)")
    fx.broken("unknown_critical", build_png(4, 4, RGB, 8, 0, good, before=[chunk(b"XHDR", b"??")]),
              "unknown critical chunk XHDR")
    fx.broken("bad_depth", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 4, RGB, 0, 0, 0)) +
              chunk(b"IEND", b""), "invalid bit depth 4 for colour type 2")
    no_plte = build_png(4, 4, PALETTE, 8, 0, [[(1,)] * 4] * 4)
    fx.broken("no_plte", no_plte, "palette image without PLTE chunk")
    bad_crc = bytearray(build_png(4, 4, RGB, 8, 0, good))
    bad_crc[-13] ^= 0x01  # last byte of the IDAT chunk's CRC
    fx.broken("bad_crc", bytes(bad_crc), "CRC mismatch in chunk IDAT")
    fx.broken("no_iend", build_png(4, 4, RGB, 8, 0, good)[:-12], "truncated after IDAT (no IEND chunk)")
    fx.broken("not_png", b"GIF89a" + bytes(20), "not a PNG file")

    fx.save_manifest()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"{len(fx.manifest)} fixtures, {total} bytes in {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
