"""End-to-end reference: diffusers' pipelines on the bundled model (and the tiny 9-channel inpainting fixture),
run with settings equivalent to A1111's, so the C# pipeline can be checked against their final latents in CI.

Usage: python3 make_pipeline_fixtures.py DIFFUSERS_SRC REPO_ROOT OUT_DIR

Writes OUT_DIR/cases.json (each case as the A1111 request SdSharp runs), OUT_DIR/expected.safetensors
(diffusers' final latents, NCHW, "<case>"; the img2img/inpaint init latents, "<case>.init") and the init PNGs.

Where A1111 (which SdSharp follows) and diffusers differ, diffusers gets the equivalent settings:
- img2img strength s: A1111 runs int(s*steps)+1 steps from sigmas[steps-int(s*steps)-1]; diffusers' strength
  (int(s*steps)+1)/steps starts at the same sigma with as many steps.
- img2img init latent: A1111 samples the VAE posterior with an unseeded generator; SdSharp with a fresh generator
  of the image's seed. That latent is computed here and handed to diffusers as the image (4 channels = latents),
  so diffusers' generator draws only the noise, as A1111's does.
- DPM++ 2M Karras: diffusers rounds the UNet's timesteps and works in variance-preserving space; A1111 (k-diffusion)
  passes the fractional t and starts from noise*sigma_max. The scheduler here keeps t fractional and the start
  latent is noise*sigma_max/sqrt(1+sigma_max^2), the same point in diffusers' space.
- DDIM: A1111 makes one model call fewer than its timestep list (it stops at alpha_cumprod[1]); that is diffusers'
  latent after steps-1 steps.
- Inpainting: A1111 blends the original back into every estimate; with an all-white mask that blend is the
  identity, so the 9-channel model is compared with the whole image masked, the masked-image latent (VAE mode of
  the grey image) given to diffusers explicitly.
Everything runs in fp32 on the CPU.
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image, ImageDraw

DIFFUSERS_SRC, ROOT, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, DIFFUSERS_SRC)
from diffusers import (  # noqa: E402
    AutoencoderKL,
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionInpaintPipeline,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from safetensors.torch import save_file  # noqa: E402
from transformers import CLIPTextModel, CLIPTokenizer  # noqa: E402

torch.set_num_threads(os.cpu_count() or 4)
os.makedirs(OUT, exist_ok=True)
SCHEDULE = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", prediction_type="epsilon")
BUNDLED = os.path.join(ROOT, "models", "tiny-shapes")
TOKENIZER = os.path.join(BUNDLED, "tokenizer")
INPAINT = os.path.join(ROOT, "tests", "fixtures", "models", "sd1-inpaint", "diffusers")


class KDiffusionDpmSolver(DPMSolverMultistepScheduler):
    """DPM++ 2M Karras with k-diffusion's fractional timesteps (diffusers rounds them)."""

    def set_timesteps(self, num_inference_steps=None, device=None, **kwargs):
        super().set_timesteps(num_inference_steps, device, **kwargs)
        table = np.array(((1 - self.alphas_cumprod) / self.alphas_cumprod) ** 0.5)
        karras = self._convert_to_karras(in_sigmas=np.flip(table).copy(), num_inference_steps=num_inference_steps)
        t = np.array([self._sigma_to_t(s, np.log(table)) for s in karras])
        self.timesteps = torch.from_numpy(t).to(device=device, dtype=torch.float32)


def components(folder):
    return dict(
        vae=AutoencoderKL.from_pretrained(os.path.join(folder, "vae"), torch_dtype=torch.float32),
        text_encoder=CLIPTextModel.from_pretrained(os.path.join(folder, "text_encoder"), torch_dtype=torch.float32),
        tokenizer=CLIPTokenizer.from_pretrained(TOKENIZER),
        unet=UNet2DConditionModel.from_pretrained(os.path.join(folder, "unet"), torch_dtype=torch.float32),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def scheduler(name):
    if name == "Euler":
        return EulerDiscreteScheduler(**SCHEDULE, timestep_spacing="linspace")
    if name == "Euler a":
        return EulerAncestralDiscreteScheduler(**SCHEDULE, timestep_spacing="linspace")
    if name == "DPM++ 2M Karras":
        return KDiffusionDpmSolver(**SCHEDULE, algorithm_type="dpmsolver++", solver_order=2, use_karras_sigmas=True, final_sigmas_type="zero")
    if name == "DDIM":
        return DDIMScheduler(**SCHEDULE, steps_offset=1, set_alpha_to_one=False, timestep_spacing="leading", clip_sample=False)
    raise ValueError(name)


def generators(seed, batch):
    return [torch.Generator("cpu").manual_seed(seed + i) for i in range(batch)]


def pixels(path):
    """A PNG as A1111 feeds the VAE: [1, 3, H, W] in [-1, 1]."""
    array = np.array(Image.open(path).convert("RGB")).astype(np.float32) / 255.0
    return torch.from_numpy(2.0 * array - 1.0).permute(2, 0, 1)[None]


def init_png(name, size):
    path = os.path.join(OUT, name)
    image = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.ellipse((size // 4, size // 4, 3 * size // 4, 3 * size // 4), fill=(220, 30, 30))
    draw.rectangle((0, 0, size // 5, size), fill=(40, 40, 200))
    image.save(path)
    return path


cases, tensors = [], {}
prompt, negative = "a small yellow triangle at the top on a purple background", "blue"
bundled = components(BUNDLED)
steps, cfg = 10, 7.0


def record(case, latents):
    tensors[case["name"]] = latents.detach().float().contiguous()
    cases.append(case)
    print(case["name"], tuple(latents.shape), flush=True)


# ---- txt2img on the bundled model ----
for sampler, batch in [("Euler", 1), ("Euler a", 1), ("Euler a", 2), ("DPM++ 2M Karras", 1), ("DDIM", 1)]:
    name = f"txt2img-{sampler.replace(' ', '-').replace('+', 'p').lower()}-b{batch}"
    case = dict(name=name, model="bundled", prompt=prompt, negative=negative, seed=42, batch=batch, sampler=sampler,
                steps=steps, cfg=cfg, width=128, height=128)
    pipe = StableDiffusionPipeline(**bundled, scheduler=scheduler(sampler))
    gens = generators(42, batch)
    kwargs = {}
    if sampler == "DPM++ 2M Karras":
        pipe.scheduler.set_timesteps(steps)
        sigma_max = float(pipe.scheduler.sigmas[0])
        noise = torch.cat([torch.randn((1, 4, 16, 16), generator=g) for g in gens])
        kwargs["latents"] = noise * sigma_max / (sigma_max**2 + 1) ** 0.5
    captured = {}
    if sampler == "DDIM":
        def keep(pipeline, i, t, callback_kwargs):
            if i == steps - 2:
                captured["latents"] = callback_kwargs["latents"].clone()
            return callback_kwargs
        kwargs.update(callback_on_step_end=keep, callback_on_step_end_tensor_inputs=["latents"])
    out = pipe(prompt, negative_prompt=negative, num_inference_steps=steps, guidance_scale=cfg, width=128, height=128,
               num_images_per_prompt=batch, generator=gens, output_type="latent", **kwargs).images
    record(case, captured.get("latents", out))

# ---- img2img (Euler) on the bundled model ----
a1111_strength = 0.5
diffusers_strength = (int(a1111_strength * steps) + 1) / steps
init_path = init_png("init-128.png", 128)
with torch.no_grad():
    posterior = bundled["vae"].encode(pixels(init_path)).latent_dist
    init = posterior.sample(generator=torch.Generator("cpu").manual_seed(7)) * bundled["vae"].config.scaling_factor
case = dict(name="img2img-euler", model="bundled", prompt=prompt, negative=negative, seed=7, batch=1, sampler="Euler",
            steps=steps, cfg=cfg, width=128, height=128, strength=a1111_strength, init=os.path.basename(init_path))
pipe = StableDiffusionImg2ImgPipeline(**bundled, scheduler=scheduler("Euler"))
out = pipe(prompt, image=init, negative_prompt=negative, strength=diffusers_strength, num_inference_steps=steps,
           guidance_scale=cfg, generator=torch.Generator("cpu").manual_seed(7), output_type="latent").images
tensors["img2img-euler.init"] = init.contiguous()
record(case, out)

# ---- inpainting with the tiny 9-channel model, all of the image masked ----
inpaint = components(INPAINT)
init_path = init_png("init-64.png", 64)
vae = inpaint["vae"]
with torch.no_grad():
    init = vae.encode(pixels(init_path)).latent_dist.sample(generator=torch.Generator("cpu").manual_seed(11)) * vae.config.scaling_factor
    grey = vae.encode(torch.zeros(1, 3, 64, 64)).latent_dist.mode() * vae.config.scaling_factor
case = dict(name="inpaint-9ch-euler-a", model="sd1-inpaint", prompt="a red circle", negative="blue", seed=11, batch=1,
            sampler="Euler a", steps=steps, cfg=cfg, width=64, height=64, strength=a1111_strength,
            init=os.path.basename(init_path), mask="all")
pipe = StableDiffusionInpaintPipeline(**inpaint, scheduler=scheduler("Euler a"))
out = pipe("a red circle", image=init, mask_image=Image.new("L", (64, 64), 255), masked_image_latents=grey,
           negative_prompt="blue", strength=diffusers_strength, num_inference_steps=steps, guidance_scale=cfg,
           width=64, height=64, generator=torch.Generator("cpu").manual_seed(11), output_type="latent").images
tensors["inpaint-9ch-euler-a.init"] = init.contiguous()
record(case, out)

save_file(tensors, os.path.join(OUT, "expected.safetensors"))
with open(os.path.join(OUT, "cases.json"), "w") as f:
    json.dump(cases, f, indent=1)
print("done", len(cases), "cases")
