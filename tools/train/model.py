"""The bundled model's networks (the classes real SD checkpoints use, only small), its noise schedule, a DDIM
sampler with classifier-free guidance, FLOP counting, and the diffusers folder it is saved as.

diffusers is imported from the source tree on PYTHONPATH; transformers must be installed.
"""
import json
import os

import numpy as np
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from safetensors.torch import load_file, save_file
from transformers import CLIPTextConfig, CLIPTextModel

import dataset
from tokenizer import CONTEXT_LENGTH, Tokenizer

# ------------------------------------------------------------------------------------------- architectures

LATENT_CHANNELS = 4
VAE_SCALE = 8  # 2 ** (len(block_out_channels) - 1), as SD's VAE
LATENT_SIZE = dataset.IMAGE_SIZE // VAE_SCALE

VAE_CONFIG = dict(
    in_channels=3, out_channels=3, latent_channels=LATENT_CHANNELS,
    down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
    block_out_channels=[32, 64, 128, 128], layers_per_block=1, norm_num_groups=32, act_fn="silu",
    sample_size=dataset.IMAGE_SIZE)

# SD 1.x's layout (cross-attention down blocks then a plain one, mirrored going up, a cross-attention mid block,
# conv proj_in/proj_out, "attention_head_dim" meaning the number of heads), with three levels instead of four.
TEXT_DIM = 128
UNET_CONFIG = dict(
    sample_size=LATENT_SIZE, in_channels=LATENT_CHANNELS, out_channels=LATENT_CHANNELS,
    down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    block_out_channels=[64, 128, 128], layers_per_block=1, norm_num_groups=32,
    cross_attention_dim=TEXT_DIM, attention_head_dim=4)


def text_config(tokenizer):
    return dict(vocab_size=len(tokenizer.vocab), hidden_size=TEXT_DIM, intermediate_size=4 * TEXT_DIM,
                num_hidden_layers=4, num_attention_heads=4, max_position_embeddings=CONTEXT_LENGTH,
                hidden_act="quick_gelu", layer_norm_eps=1e-5, projection_dim=TEXT_DIM,
                bos_token_id=tokenizer.bos, eos_token_id=tokenizer.eos, pad_token_id=tokenizer.eos)


def build_vae():
    return AutoencoderKL(**VAE_CONFIG)


def build_unet():
    return UNet2DConditionModel(**UNET_CONFIG)


def build_text_encoder(tokenizer):
    return CLIPTextModel(CLIPTextConfig(**text_config(tokenizer)))


def parameter_count(module):
    return sum(p.numel() for p in module.parameters())


# ------------------------------------------------------------------------------------------- noise schedule

NUM_TRAIN_TIMESTEPS = 1000
BETA_START, BETA_END = 0.00085, 0.012


def alphas_cumprod(device="cpu"):
    """SD's "scaled_linear" schedule: betas linear in sqrt space from 0.00085 to 0.012 over 1000 steps."""
    betas = torch.linspace(BETA_START ** 0.5, BETA_END ** 0.5, NUM_TRAIN_TIMESTEPS, dtype=torch.float64) ** 2
    return torch.cumprod(1 - betas, 0).to(device=device, dtype=torch.float32)


SCHEDULER_CONFIG = {  # SD 1.5's scheduler_config.json
    "_class_name": "PNDMScheduler", "beta_start": BETA_START, "beta_end": BETA_END, "beta_schedule": "scaled_linear",
    "num_train_timesteps": NUM_TRAIN_TIMESTEPS, "set_alpha_to_one": False, "skip_prk_steps": True,
    "steps_offset": 1, "clip_sample": False, "prediction_type": "epsilon", "timestep_spacing": "leading",
    "trained_betas": None}


def encode_text(text_encoder, ids):
    return text_encoder(ids).last_hidden_state


@torch.no_grad()
def ddim_sample(unet, text_encoder, vae, tokenizer, prompts, seeds, steps=20, guidance=7.0, device="cpu",
                autocast_dtype=None):
    """Images (n, 3, H, W) in [0, 1] for the prompts: DDIM (eta 0) over SD's "leading" timesteps with
    steps_offset 1, classifier-free guidance against the empty prompt, initial noise from torch.Generator(seed)
    on the CPU (as diffusers does with a CPU generator)."""
    n = len(prompts)
    ac = alphas_cumprod(device)
    cond = torch.tensor([tokenizer.encode_context(p) for p in prompts], device=device)
    uncond = torch.tensor([tokenizer.encode_context("")] * n, device=device)
    noise = torch.stack([torch.randn(LATENT_CHANNELS, LATENT_SIZE, LATENT_SIZE, generator=torch.Generator().manual_seed(int(s)))
                         for s in seeds]).to(device)
    ratio = NUM_TRAIN_TIMESTEPS // steps
    timesteps = (np.arange(0, steps) * ratio)[::-1] + 1
    ctx = torch.autocast(device_type="cuda", dtype=autocast_dtype) if autocast_dtype else torch.autocast("cpu", enabled=False)
    with ctx:
        context = encode_text(text_encoder, torch.cat([uncond, cond]))
        x = noise
        for t in timesteps:
            eps_u, eps_c = unet(torch.cat([x, x]), torch.full((2 * n,), int(t), device=device),
                                encoder_hidden_states=context).sample.float().chunk(2)
            eps = eps_u + guidance * (eps_c - eps_u)
            a_t = ac[t]
            a_prev = ac[t - ratio] if t - ratio >= 0 else ac[0]
            x0 = (x - (1 - a_t).sqrt() * eps) / a_t.sqrt()
            x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
        images = vae.decode(x / vae.config.scaling_factor).sample.float()
    return ((images + 1) / 2).clamp(0, 1)


# ------------------------------------------------------------------------------------------- FLOPs

def count_flops(module, *args, **kwargs):
    """Multiply-adds x 2 of the convolutions, linear layers and attention products (Q K^T and A V, found through
    each attention module's query and key projections) in one forward call."""
    total = [0]
    hooks = []

    def conv_hook(m, inputs, out):
        total[0] += 2 * out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, inputs, out):
        total[0] += 2 * out.numel() * m.in_features

    def attention_hooks(query, key):
        seen = {}

        def on_query(m, inputs, out):
            seen["q"] = out.shape  # (batch, Lq, inner)

        def on_key(m, inputs, out):
            b, lq, inner = seen.pop("q")
            total[0] += 4 * b * lq * out.shape[1] * inner

        return [query.register_forward_hook(on_query), key.register_forward_hook(on_key)]

    for m in module.modules():
        if isinstance(m, torch.nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, torch.nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
        for q, k in (("to_q", "to_k"), ("q_proj", "k_proj")):
            if isinstance(getattr(m, q, None), torch.nn.Linear) and isinstance(getattr(m, k, None), torch.nn.Linear):
                hooks += attention_hooks(getattr(m, q), getattr(m, k))
    try:
        with torch.no_grad():
            module(*args, **kwargs)
    finally:
        for h in hooks:
            h.remove()
    return total[0]


def flops_report(unet, vae, text_encoder, tokenizer, steps=20):
    """FLOPs of one 20-step guided generation at the native size (UNet batch 2 per step)."""
    ids = torch.tensor([tokenizer.encode_context("a red circle")] * 2)
    ctx = encode_text(text_encoder, ids)
    x = torch.zeros(2, LATENT_CHANNELS, LATENT_SIZE, LATENT_SIZE)
    unet_step = count_flops(unet, x, torch.tensor([500, 500]), encoder_hidden_states=ctx)
    decode = count_flops(vae.decoder, torch.zeros(1, LATENT_CHANNELS, LATENT_SIZE, LATENT_SIZE)) + \
        count_flops(vae.post_quant_conv, torch.zeros(1, LATENT_CHANNELS, LATENT_SIZE, LATENT_SIZE))
    text = count_flops(text_encoder, ids)
    total = steps * unet_step + decode + text
    return dict(unet_guided_step=unet_step, vae_decode=decode, text_encoder_2_prompts=text,
                generation_20_steps=total, steps=steps)


# ------------------------------------------------------------------------------------------- diffusers folder

def with_text_model_prefix(state_dict):
    """transformers >= 5.6 names CLIPTextModel's weights without the "text_model." prefix that every published SD
    text encoder has; the exported file uses the published names."""
    return {k if k.startswith("text_model.") else "text_model." + k: v for k, v in state_dict.items()}


def load_text_encoder_state(text_encoder, state_dict):
    """Loads weights named with or without "text_model." into a CLIPTextModel of either layout."""
    own = set(text_encoder.state_dict())
    prefixed = any(k.startswith("text_model.") for k in own)
    fixed = {}
    for k, v in state_dict.items():
        bare = k[len("text_model."):] if k.startswith("text_model.") else k
        fixed["text_model." + bare if prefixed else bare] = v
    fixed = {k: v for k, v in fixed.items() if k in own or not k.endswith("position_ids")}
    missing, unexpected = text_encoder.load_state_dict(fixed, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise RuntimeError(f"text encoder weights do not fit: missing {missing[:5]}, unexpected {unexpected[:5]}")


def fp16_state(module):
    return {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in module.state_dict().items()
            if not k.endswith("position_ids")}


def save_diffusers_folder(folder, unet, vae, text_encoder, tokenizer, diffusers_version):
    """A StableDiffusionPipeline folder with fp16 safetensors, laid out like SD 1.5's."""
    for sub in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    unet.save_config(os.path.join(folder, "unet"))
    save_file(fp16_state(unet), os.path.join(folder, "unet", "diffusion_pytorch_model.safetensors"))
    vae.save_config(os.path.join(folder, "vae"))
    save_file(fp16_state(vae), os.path.join(folder, "vae", "diffusion_pytorch_model.safetensors"))
    text_encoder.config.architectures = ["CLIPTextModel"]  # as SD 1.x's text_encoder/config.json names it
    text_encoder.config.save_pretrained(os.path.join(folder, "text_encoder"))
    save_file(with_text_model_prefix(fp16_state(text_encoder)), os.path.join(folder, "text_encoder", "model.safetensors"))
    tokenizer.save(os.path.join(folder, "tokenizer"))
    with open(os.path.join(folder, "scheduler", "scheduler_config.json"), "w") as f:
        json.dump({**SCHEDULER_CONFIG, "_diffusers_version": diffusers_version}, f, indent=2)
    index = {"_class_name": "StableDiffusionPipeline", "_diffusers_version": diffusers_version,
             "feature_extractor": [None, None], "image_encoder": [None, None], "requires_safety_checker": False,
             "safety_checker": [None, None], "scheduler": ["diffusers", "PNDMScheduler"],
             "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
             "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}
    with open(os.path.join(folder, "model_index.json"), "w") as f:
        json.dump(index, f, indent=2)


def load_diffusers_folder(folder, device="cpu"):
    """(unet, vae, text_encoder, tokenizer) in fp32 from a folder that save_diffusers_folder wrote, read with
    the same classes' from_pretrained where that is plain (UNet, VAE) and explicitly for the text encoder."""
    tokenizer = Tokenizer.load(os.path.join(folder, "tokenizer"))
    unet = UNet2DConditionModel.from_pretrained(os.path.join(folder, "unet"), torch_dtype=torch.float32)
    vae = AutoencoderKL.from_pretrained(os.path.join(folder, "vae"), torch_dtype=torch.float32)
    with open(os.path.join(folder, "text_encoder", "config.json")) as f:
        cfg = json.load(f)
    text_encoder = CLIPTextModel(CLIPTextConfig(**{k: cfg[k] for k in text_config(tokenizer)}))
    load_text_encoder_state(text_encoder, {k: v.float() for k, v in
                                           load_file(os.path.join(folder, "text_encoder", "model.safetensors")).items()})
    return unet.to(device).eval(), vae.to(device).eval(), text_encoder.to(device).eval(), tokenizer


def folder_size(folder):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(folder) for f in fs)
