#!/usr/bin/env python3
"""Runs an unmodified AUTOMATIC1111 API client against `sdsharp serve`.

The client is the `webuiapi` package (github.com/mix1009/sdwebuiapi), imported from a source checkout kept
outside this repository, e.g.:

    /usr/bin/python3 tools/a1111-client/webuiapi_check.py --webuiapi /tmp/sdwebuiapi --port 7860

It needs `requests` and `Pillow` (Debian: python3-requests python3-pil). It calls txt2img, img2img (plain
and with an inpainting mask), get_options, set_options and png_info the way any webuiapi user would, prints
what came back, and exits non-zero if an answer is not what A1111 would give.
"""
import argparse
import sys

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--webuiapi", required=True, help="folder holding the webuiapi package source (not installed)")
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=7860)
parser.add_argument("--save", help="folder to save the images into")
args = parser.parse_args()
sys.path.insert(0, args.webuiapi)

import webuiapi  # noqa: E402  (imported from the given checkout)
from PIL import Image, ImageDraw  # noqa: E402

api = webuiapi.WebUIApi(host=args.host, port=args.port, sampler="Euler a", steps=20)


def show(title, result):
    image = result.image
    print(f"{title}: {len(result.images)} image(s), {image.size[0]}x{image.size[1]} {image.mode}")
    print("  infotext:", result.info["infotexts"][0].replace("\n", "\n            "))
    print("  seed:", result.info["seed"], " sampler:", result.info["sampler_name"], " model:", result.info["sd_model_name"])
    assert image.info.get("parameters") == result.info["infotexts"][0], "the PNG's parameters chunk differs from info.infotexts"


options = api.get_options()
print("get_options: sd_model_checkpoint =", repr(options["sd_model_checkpoint"]),
      "CLIP_stop_at_last_layers =", options["CLIP_stop_at_last_layers"])
models = [m["title"] for m in api.get_sd_models()]
print("get_sd_models:", models)
print("set_options:", api.set_options({"sd_model_checkpoint": models[0], "CLIP_stop_at_last_layers": 1}))
assert api.get_options()["sd_model_checkpoint"] == models[0]
print("samplers:", ", ".join(api.util_get_sampler_names()))
print("schedulers:", ", ".join(api.util_get_scheduler_names()))

t2i = api.txt2img(prompt="a large yellow square in the center on a purple background", seed=1234,
                  width=128, height=128, cfg_scale=7)
show("txt2img", t2i)
assert t2i.info["seed"] == 1234 and t2i.image.size == (128, 128)

i2i = api.img2img(images=[t2i.image], prompt="a large yellow square in the center on a purple background",
                  seed=99, width=128, height=128, denoising_strength=0.5)
show("img2img", i2i)

mask = Image.new("L", (128, 128), 0)
ImageDraw.Draw(mask).rectangle([64, 0, 127, 63], fill=255)
inpaint = api.img2img(images=[t2i.image], mask_image=mask, prompt="a small red circle on the right on a purple background",
                      seed=7, width=128, height=128, denoising_strength=0.9, inpainting_fill=1, inpaint_full_res=False)
show("img2img with mask", inpaint)
assert "Mask blur: 4" in inpaint.info["infotexts"][0]

info = api.png_info(t2i.image)
print("png_info:", info.info.replace("\n", "\n          "))
assert info.info == t2i.info["infotexts"][0]
print("png_info parameters: Steps =", info.parameters["Steps"], " Seed =", info.parameters["Seed"],
      " Size =", info.parameters["Size-1"], "x", info.parameters["Size-2"])

if args.save:
    for name, result in (("txt2img", t2i), ("img2img", i2i), ("inpaint", inpaint)):
        result.image.save(f"{args.save}/{name}.png", pnginfo=None)
print("all calls answered as A1111 would")
