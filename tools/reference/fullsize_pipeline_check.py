"""Full-size end-to-end check on the GPU machine: random-weight SD 1.5 and SDXL single files, txt2img with diffusers'
pipelines and with the `sdsharp` command (CUDA, fp32 and fp16), final latents compared; the fp16 run's PNG is also
compared with diffusers' fp32 VAE decoding its latents (SDXL's VAE must compute in fp32 beside an fp16 UNet). Also the bundled model through the
command on CUDA against the CPU fixture made from diffusers (tests/fixtures/pipelines).

Usage: python3 fullsize_pipeline_check.py DIFFUSERS_SRC WORK_DIR SDSHARP MERGES REPORT_JSON [family ...]
  SDSHARP  the published command (dotnet publish -r linux-x64 --self-contained)
  MERGES   OpenAI's bpe_simple_vocab_16e6.txt.gz (the tokenizer folders for diffusers are built from it)

Settings as in make_pipeline_fixtures.py: Euler with 10 steps (integer timesteps, so diffusers' linear sigma
interpolation and k-diffusion's log-linear one agree), the seed's CPU generator, CFG 7 with a negative prompt.
"""
import importlib.util
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import clip_vocab  # noqa: E402

spec = importlib.util.spec_from_file_location("fixtures", os.path.join(HERE, "make_model_fixtures.py"))
fx = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fx)  # reads DIFFUSERS_SRC and the work folder from argv like this script

from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, StableDiffusionXLPipeline, UNet2DConditionModel  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import CLIPTokenizer  # noqa: E402

WORK, SDSHARP, MERGES, REPORT = sys.argv[2:6]
FAMILIES = sys.argv[6:] or ["sd1", "sdxl"]
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
PROMPT, NEGATIVE, SEED, STEPS, CFG = "a photograph of an astronaut riding a horse", "blurry, low quality", 42, 10, 7.0
SIZE = {"sd1": 256, "sdxl": 512}
SCHEDULE = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", timestep_spacing="linspace")


def tokenizer_folder(name, pad):
    return CLIPTokenizer.from_pretrained(clip_vocab.write_tokenizer_folder(os.path.join(WORK, name), MERGES, pad))


@torch.no_grad()
def build(family, seed):
    """Random full-size networks (randomize rounds the weights to fp16, as the single file holds them) and the single file."""
    ucfg = fx.unet_config(family, tiny=False)
    unet = fx.randomize(UNet2DConditionModel(**ucfg), seed).eval()
    vae = fx.randomize(AutoencoderKL(**fx.vae_config(tiny=False)), seed + 1).eval()
    encoders = fx.text_encoders(family, tiny=False)
    for k, entry in enumerate(encoders):
        fx.randomize(entry[1], seed + 2 + k).eval()
    single = {"model.diffusion_model." + k: v for k, v in fx.unet_to_ldm(unet.state_dict(), ucfg).items()}
    single.update({"first_stage_model." + k: v for k, v in fx.vae_to_ldm(vae.state_dict(), fx.vae_config(tiny=False)).items()})
    for entry in encoders:
        single.update(fx.single_file_text(entry, entry[1].state_dict()))
    if family == "sd1":
        single["cond_stage_model.transformer.text_model.embeddings.position_ids"] = torch.arange(77, dtype=torch.int64)[None]
    path = os.path.join(WORK, f"{family}.safetensors")
    save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in single.items()}, path)
    return path, unet, vae, {e[0]: e[1] for e in encoders}


def sdsharp(model, size, latents, precision, *extra):
    command = [SDSHARP, "txt2img", "-m", model, "-p", PROMPT, "-n", NEGATIVE, "--sampler", "Euler", "--steps", str(STEPS),
               "--cfg", str(CFG), "--seed", str(SEED), "-W", str(size), "-H", str(size), "--device", "cuda", "--precision", precision,
               "--latents-out", latents, "-o", latents + ".png", *extra]
    start = time.time()
    run = subprocess.run(command, capture_output=True, text=True, timeout=400)
    if run.returncode != 0:
        raise RuntimeError(f"sdsharp exited {run.returncode}: {run.stderr.strip()[-2000:]}")
    nhwc = load_file(latents)["latent_0"]
    return nhwc.permute(0, 3, 1, 2), time.time() - start


def relative_l2(a, b):
    return float((a.double() - b.double()).norm() / b.double().norm())


def check(family, report):
    size = SIZE[family]
    path, unet, vae, encoders = build(family, 9100 + len(report))
    tok = tokenizer_folder("tokenizer", "<|endoftext|>")
    parts = dict(vae=vae, unet=unet, scheduler=EulerDiscreteScheduler(**SCHEDULE), tokenizer=tok, text_encoder=encoders["text_encoder"])
    if family == "sdxl":
        pipe = StableDiffusionXLPipeline(**parts, text_encoder_2=encoders["text_encoder_2"], tokenizer_2=tokenizer_folder("tokenizer_2", "!"))
    else:
        pipe = StableDiffusionPipeline(**parts, safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.to("cuda")
    start = time.time()
    expected = pipe(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=STEPS, guidance_scale=CFG, width=size, height=size,
                    generator=torch.Generator("cpu").manual_seed(SEED), output_type="latent").images.float().cpu()
    diffusers_s = time.time() - start
    # The image SdSharp should write: its family's scaling factor, the VAE in fp32, A1111's rounding to 8 bits.
    scaling = 0.13025 if family == "sdxl" else 0.18215
    with torch.no_grad():
        pixels = pipe.vae.decode(expected.cuda() / scaling).sample.float().cpu()
    image = ((pixels[0].permute(1, 2, 0) / 2 + 0.5).clamp(0, 1) * 255).round()
    del pipe, unet, vae, encoders
    torch.cuda.empty_cache()
    latents = os.path.join(WORK, f"{family}-latents.safetensors")
    got, sdsharp_s = sdsharp(path, size, latents, "fp32", "--tokenizer", MERGES)
    got16, sdsharp16_s = sdsharp(path, size, latents + ".fp16", "fp16", "--tokenizer", MERGES)
    png = torch.tensor(np.asarray(Image.open(latents + ".fp16.png").convert("RGB")), dtype=torch.float32)
    report[family] = dict(size=size, relative_l2=relative_l2(got, expected), diffusers_s=round(diffusers_s, 2), sdsharp_s=round(sdsharp_s, 2),
                          fp16_relative_l2=relative_l2(got16, expected), fp16_finite=bool(torch.isfinite(got16).all()),
                          fp16_image_mean_abs_diff=float((png - image).abs().mean()), fp16_image_mean=float(png.mean()),
                          sdsharp_fp16_s=round(sdsharp16_s, 2))
    print(family, report[family], flush=True)
    os.remove(path)


def main():
    os.makedirs(WORK, exist_ok=True)
    report = {}
    try:
        # The bundled model on CUDA against diffusers' CPU latents from the CI fixture.
        fixture = os.path.join(ROOT, "tests", "fixtures", "pipelines")
        case = next(c for c in json.load(open(os.path.join(fixture, "cases.json"))) if c["name"] == "txt2img-euler-b1")
        expected = load_file(os.path.join(fixture, "expected.safetensors"))["txt2img-euler-b1"]
        latents = os.path.join(WORK, "bundled.safetensors")
        command = [SDSHARP, "txt2img", "-p", case["prompt"], "-n", case["negative"], "--sampler", "Euler", "--steps", str(case["steps"]),
                   "--cfg", str(case["cfg"]), "--seed", str(case["seed"]), "--device", "cuda", "--precision", "fp32", "--latents-out", latents,
                   "-o", latents + ".png", "-m", os.path.join(ROOT, "models", "tiny-shapes")]
        run = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if run.returncode != 0:
            raise RuntimeError(run.stderr[-2000:])
        report["bundled-cuda"] = dict(relative_l2=relative_l2(load_file(latents)["latent_0"].permute(0, 3, 1, 2), expected))
        print("bundled-cuda", report["bundled-cuda"], flush=True)
    except Exception as e:  # keep going: the full-size families are checked on their own
        report["bundled-cuda"] = dict(error=str(e))
        print("bundled-cuda failed:", e, flush=True)
    for family in FAMILIES:
        try:
            check(family, report)
        except Exception as e:
            report[family] = dict(error=str(e)[-2000:])
            print(family, "failed:", e, flush=True)
        with open(REPORT, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
