"""diffusers' tiled VAE (enable_tiling) on the tiny SD 1.x fixture VAE, as a fixture for SdSharp's tiled encode/decode.

Usage: python3 make_vae_tiling_fixture.py DIFFUSERS_SRC OUT_FILE

The tiny VAE's sample_size is 32, so its tiles are 32 pixels / 4 latents with diffusers' quarter overlap. A latent
of 10×7 (batch 2) decodes in 4×3 tiles, an 80×56 image encodes in 4×3 tiles; ragged edge tiles included.
Writes (NCHW, fp32): latent, decoded, image, mean, logvar.
"""
import os
import sys

import torch

DIFFUSERS_SRC, OUT = sys.argv[1], sys.argv[2]
sys.path.insert(0, DIFFUSERS_SRC)
from diffusers import AutoencoderKL  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
vae = AutoencoderKL.from_pretrained(os.path.join(ROOT, "tests", "fixtures", "models", "sd1", "diffusers"), subfolder="vae", torch_dtype=torch.float32).eval()
assert vae.tile_sample_min_size == 32 and vae.tile_latent_min_size == 4
vae.enable_tiling()

g = torch.Generator().manual_seed(0)
latent = torch.randn(2, 4, 10, 7, generator=g)
image = torch.rand(1, 3, 80, 56, generator=g) * 2 - 1
with torch.no_grad():
    decoded = vae.decode(latent).sample
    posterior = vae.encode(image).latent_dist
    untiled = AutoencoderKL.from_pretrained(os.path.join(ROOT, "tests", "fixtures", "models", "sd1", "diffusers"), subfolder="vae", torch_dtype=torch.float32).eval()
    whole = untiled.decode(latent).sample
print("tiled vs whole decode, max abs difference:", (decoded - whole).abs().max().item())
os.makedirs(os.path.dirname(os.path.abspath(OUT)), exist_ok=True)
save_file({"latent": latent, "decoded": decoded.contiguous(), "image": image, "mean": posterior.mean.contiguous(), "logvar": posterior.logvar.contiguous()}, OUT)
print("wrote", OUT)
