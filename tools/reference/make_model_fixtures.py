"""Tiny random-weight Stable Diffusion models of every family, in both file layouts, with diffusers' outputs.

Usage: python3 make_model_fixtures.py DIFFUSERS_SRC OUT_DIR

For each family (sd1, sd2, sdxl, refiner, sd1-inpaint) it writes OUT_DIR/<family>/:
  diffusers/            a diffusers folder (model_index.json, unet/, vae/, text_encoder[_2]/), fp16 weights
  single.safetensors    the same weights in the original single-file layout (model.diffusion_model.*, ...)
  reference.safetensors inputs and diffusers' fp32 outputs (NCHW as diffusers computes them)
The single-file layout comes from a general diffusers->original converter written here, checked two ways:
diffusers' own single-file loader (single_file_utils) must turn it back into exactly the diffusers state dict,
and where diffusers' conversion scripts apply (SD 1.x / SDXL structures) they must produce the same keys.

It also writes OUT_DIR/shapes/<family>.json: key -> shape of the *full-size* original single file of each
family (SD 1.5, SD 2.1 768-v, SDXL base, SDXL refiner, SD 1.5 inpainting), built on the meta device, for
detection tests that need real shapes but no weights.
"""
import importlib.util
import json
import os
import sys

import torch

DIFFUSERS_SRC, OUT = sys.argv[1], sys.argv[2]
sys.path.insert(0, DIFFUSERS_SRC)
from diffusers import AutoencoderKL, UNet2DConditionModel  # noqa: E402
from diffusers.loaders import single_file_utils as sfu  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection  # noqa: E402

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def load_script(name):
    path = os.path.join(DIFFUSERS_SRC, "..", "scripts", name)
    spec = importlib.util.spec_from_file_location(name[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SD_SCRIPT = load_script("convert_diffusers_to_original_stable_diffusion.py")
SDXL_SCRIPT = load_script("convert_diffusers_to_original_sdxl.py")

# ---------------------------------------------------------------- configs

def unet_config(family, tiny):
    if family in ("sd1", "sd1-inpaint", "sd2"):
        cfg = dict(sample_size=64, in_channels=9 if family == "sd1-inpaint" else 4, out_channels=4,
                   down_block_types=["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
                   up_block_types=["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
                   block_out_channels=[320, 640, 1280, 1280], layers_per_block=2, norm_num_groups=32,
                   cross_attention_dim=768, attention_head_dim=8)
        if family == "sd2":
            cfg.update(cross_attention_dim=1024, attention_head_dim=[5, 10, 20, 20], use_linear_projection=True,
                       upcast_attention=True, sample_size=96)
        if tiny:
            cfg.update(block_out_channels=[8, 8, 16, 16], norm_num_groups=4, cross_attention_dim=32, sample_size=8,
                       attention_head_dim=2 if family != "sd2" else [2, 2, 4, 4])
        return cfg
    if family == "sdxl":
        cfg = dict(sample_size=128, in_channels=4, out_channels=4,
                   down_block_types=["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
                   up_block_types=["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
                   block_out_channels=[320, 640, 1280], layers_per_block=2, transformer_layers_per_block=[1, 2, 10],
                   attention_head_dim=[5, 10, 20], use_linear_projection=True, cross_attention_dim=2048,
                   addition_embed_type="text_time", addition_time_embed_dim=256,
                   projection_class_embeddings_input_dim=2816, norm_num_groups=32)
        if tiny:
            cfg.update(sample_size=8, block_out_channels=[8, 16, 32], transformer_layers_per_block=[1, 1, 2],
                       attention_head_dim=[2, 4, 4], cross_attention_dim=64, addition_time_embed_dim=8,
                       projection_class_embeddings_input_dim=32 + 6 * 8, norm_num_groups=4)
        return cfg
    if family == "refiner":
        cfg = dict(sample_size=128, in_channels=4, out_channels=4,
                   down_block_types=["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
                   up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
                   block_out_channels=[384, 768, 1536, 1536], layers_per_block=2, transformer_layers_per_block=4,
                   attention_head_dim=[6, 12, 24, 24], use_linear_projection=True, cross_attention_dim=1280,
                   addition_embed_type="text_time", addition_time_embed_dim=256,
                   projection_class_embeddings_input_dim=2560, norm_num_groups=32)
        if tiny:
            cfg.update(sample_size=8, block_out_channels=[8, 8, 16, 16], transformer_layers_per_block=2,
                       attention_head_dim=[2, 2, 4, 4], cross_attention_dim=32, addition_time_embed_dim=8,
                       projection_class_embeddings_input_dim=32 + 5 * 8, norm_num_groups=4)
        return cfg
    raise ValueError(family)


def vae_config(tiny):
    cfg = dict(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2,
               down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
               block_out_channels=[128, 256, 512, 512], norm_num_groups=32, sample_size=512)
    if tiny:
        cfg.update(block_out_channels=[8, 8, 16, 16], norm_num_groups=4, sample_size=32)
    return cfg


def clip_config(kind, tiny, layers=None):
    """kind: 'L' (OpenAI ViT-L/14, SD 1.x and SDXL's first), 'H' (OpenCLIP ViT-H, SD 2.x), 'G' (OpenCLIP bigG)."""
    full = {"L": dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                      hidden_act="quick_gelu", projection_dim=768),
            "H": dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                      hidden_act="gelu", projection_dim=1024),
            "G": dict(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=20,
                      hidden_act="gelu", projection_dim=1280)}[kind]
    cfg = dict(vocab_size=49408, max_position_embeddings=77, bos_token_id=49406, eos_token_id=49407,
               pad_token_id=1, layer_norm_eps=1e-5, **full)
    if tiny:
        cfg.update(vocab_size=1000, bos_token_id=998, eos_token_id=999, intermediate_size=64, num_attention_heads=4,
                   hidden_size=32, projection_dim=32,   # the tiny UNets attend to 32-wide (SDXL: 64-wide) text
                   num_hidden_layers=3)
    if layers is not None:
        cfg["num_hidden_layers"] = layers
    return CLIPTextConfig(**cfg)


# ------------------------------------------------------- diffusers -> original single-file layout

def unet_to_ldm(sd, cfg):
    """diffusers UNet2DConditionModel keys -> openaimodel UNetModel keys, for any block structure."""
    per_level = cfg["layers_per_block"] + 1
    has_attention_up = ["CrossAttn" in t for t in cfg["up_block_types"]]
    fixed = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
             "add_embedding.linear_1": "label_emb.0.0", "add_embedding.linear_2": "label_emb.0.2",
             "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2"}
    resnet = [("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("time_emb_proj", "emb_layers.1"),
              ("norm2", "out_layers.0"), ("conv2", "out_layers.3"), ("conv_shortcut", "skip_connection")]
    out = {}
    for key, value in sd.items():
        parts = key.split(".")
        if parts[0] in fixed:
            new = fixed[parts[0]] + "." + ".".join(parts[1:])
        elif ".".join(parts[:2]) in fixed:
            new = fixed[".".join(parts[:2])] + "." + ".".join(parts[2:])
        elif parts[0] == "down_blocks":
            level, kind = int(parts[1]), parts[2]
            if kind == "downsamplers":
                new = f"input_blocks.{(level + 1) * per_level}.0.op." + ".".join(parts[5:])
            else:
                index = 1 + level * per_level + int(parts[3])
                new = f"input_blocks.{index}.{0 if kind == 'resnets' else 1}." + ".".join(parts[4:])
        elif parts[0] == "mid_block":
            index = {"resnets.0": 0, "attentions.0": 1, "resnets.1": 2}[".".join(parts[1:3])]
            new = f"middle_block.{index}." + ".".join(parts[3:])
        elif parts[0] == "up_blocks":
            level, kind = int(parts[1]), parts[2]
            if kind == "upsamplers":
                index = level * per_level + per_level - 1
                new = f"output_blocks.{index}.{2 if has_attention_up[level] else 1}." + ".".join(parts[4:])
            else:
                index = level * per_level + int(parts[3])
                new = f"output_blocks.{index}.{0 if kind == 'resnets' else 1}." + ".".join(parts[4:])
        else:
            raise KeyError(key)
        if ".resnets." in key:
            for hf, ldm in resnet:
                new = new.replace(f".{hf}.", f".{ldm}.")
        out[new] = value
    return out


def vae_to_ldm(sd, cfg):
    levels = len(cfg["block_out_channels"])
    out = {}
    for key, value in sd.items():
        new = key
        p = key.split(".")
        if p[1] == "down_blocks":
            new = f"{p[0]}.down.{p[2]}." + ("downsample." if p[3] == "downsamplers" else f"block.{p[4]}.") + ".".join(p[5:])
        elif p[1] == "up_blocks":
            new = f"{p[0]}.up.{levels - 1 - int(p[2])}." + ("upsample." if p[3] == "upsamplers" else f"block.{p[4]}.") + ".".join(p[5:])
        elif p[1] == "mid_block":
            if p[2] == "resnets":
                new = f"{p[0]}.mid.block_{int(p[3]) + 1}." + ".".join(p[4:])
            else:
                rest = ".".join(p[4:])
                for hf, ldm in [("group_norm.", "norm."), ("to_q.", "q."), ("to_k.", "k."), ("to_v.", "v."), ("to_out.0.", "proj_out.")]:
                    if rest.startswith(hf):
                        rest = ldm + rest[len(hf):]
                new = f"{p[0]}.mid.attn_1.{rest}"
                if value.ndim == 2:
                    value = value.reshape(*value.shape, 1, 1)  # the original stores these 1x1 convolutions
        new = new.replace("conv_norm_out", "norm_out").replace("conv_shortcut", "nin_shortcut")
        out[new] = value
    return out


def with_text_model_prefix(sd):
    """transformers 5 saves CLIPTextModel weights without the text_model. prefix every published file has."""
    return {(k if k.startswith("text_model.") or k.startswith("text_projection") else "text_model." + k): v
            for k, v in sd.items()}


def openclip_from_hf(sd):
    """HF CLIP text keys -> OpenCLIP keys (fused in_proj), as SD 2.x and SDXL's second encoder store them."""
    out, qkv = {}, {}
    for k, v in sd.items():
        if ".self_attn." in k and any(f".{x}_proj." in k for x in "qkv"):
            stem, proj, kind = k.rsplit(".", 2)
            qkv.setdefault((stem, kind), {})[proj[0]] = v
            continue
        out[openclip_name(k)] = v.T.contiguous() if k == "text_projection.weight" else v
    for (stem, kind), parts in qkv.items():
        out[openclip_name(stem) + f".in_proj_{kind}"] = torch.cat([parts["q"], parts["k"], parts["v"]])
    return out


def openclip_name(k):
    fixed = {"text_model.embeddings.position_embedding.weight": "positional_embedding",
             "text_model.embeddings.token_embedding.weight": "token_embedding.weight",
             "text_model.final_layer_norm.weight": "ln_final.weight", "text_model.final_layer_norm.bias": "ln_final.bias",
             "text_projection.weight": "text_projection"}
    if k in fixed:
        return fixed[k]
    k = k.replace("text_model.encoder.layers.", "transformer.resblocks.")
    for hf, oc in [("layer_norm1", "ln_1"), ("layer_norm2", "ln_2"), (".fc1.", ".c_fc."), (".fc2.", ".c_proj."),
                   (".self_attn", ".attn"), ("mlp.", "mlp.")]:
        k = k.replace(hf, oc)
    return k


# ------------------------------------------------------------------ building models

def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 1:
                base = 1.0 if ("norm" in name and name.endswith("weight")) else 0.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
            p.copy_(p.half().float())  # the fixtures store fp16: compute the reference from the stored values
    return model


def text_encoders(family, tiny):
    """(diffusers component name, model, single-file prefix, layout) per text encoder."""
    if family in ("sd1", "sd1-inpaint"):
        return [("text_encoder", CLIPTextModel(clip_config("L", tiny)), "cond_stage_model.transformer.", "hf")]
    if family == "sd2":
        cfg = clip_config("H", tiny)
        # diffusers keeps SD 2's encoder without its last block (SD 2 conditions on the penultimate one);
        # the original file has them all.
        return [("text_encoder", CLIPTextModel(clip_config("H", tiny, cfg.num_hidden_layers - 1)), "cond_stage_model.model.", "openclip",
                 cfg.num_hidden_layers)]
    if family == "sdxl":
        return [("text_encoder", CLIPTextModel(clip_config("L", tiny)), "conditioner.embedders.0.transformer.", "hf"),
                ("text_encoder_2", CLIPTextModelWithProjection(clip_config("G", tiny)), "conditioner.embedders.1.model.", "openclip")]
    if family == "refiner":
        return [("text_encoder_2", CLIPTextModelWithProjection(clip_config("G", tiny)), "conditioner.embedders.0.model.", "openclip")]
    raise ValueError(family)


def single_file_text(encoder_entry, sd):
    name, model, prefix, layout = encoder_entry[:4]
    sd = with_text_model_prefix(sd)
    if layout == "hf":
        return {prefix + k: v for k, v in sd.items()}
    full_layers = encoder_entry[4] if len(encoder_entry) > 4 else None
    oc = openclip_from_hf(sd)
    if full_layers is not None:
        # the original SD 2 file also holds the last block diffusers drops: add it (random, unused)
        last = full_layers - 1
        template = {k: v for k, v in oc.items() if k.startswith(f"transformer.resblocks.{last - 1}.")}
        for k, v in template.items():
            oc[k.replace(f"resblocks.{last - 1}.", f"resblocks.{last}.")] = torch.randn_like(v) * 0.01
        if "text_projection" not in oc:
            hidden = oc["ln_final.weight"].shape[0]
            oc["text_projection"] = torch.eye(hidden, dtype=torch.float32)
    return {prefix + k: v for k, v in oc.items()}


def save_component(folder, name, model, state_dict=None, config=None):
    os.makedirs(os.path.join(folder, name), exist_ok=True)
    sd = state_dict if state_dict is not None else model.state_dict()
    sd = {k: v.detach().half().contiguous() for k, v in sd.items()}
    weights = "model.safetensors" if name.startswith("text_encoder") else "diffusion_pytorch_model.safetensors"
    save_file(sd, os.path.join(folder, name, weights))
    if config is not None:
        with open(os.path.join(folder, name, "config.json"), "w") as f:
            json.dump(config, f, indent=1, default=str)
    else:
        model.save_config(os.path.join(folder, name)) if hasattr(model, "save_config") else model.config.to_json_file(
            os.path.join(folder, name, "config.json"))


def make_family(family, seed):
    folder = os.path.join(OUT, family)
    diff = os.path.join(folder, "diffusers")
    os.makedirs(diff, exist_ok=True)
    ucfg = unet_config(family, tiny=True)
    unet = randomize(UNet2DConditionModel(**ucfg), seed).eval()
    vcfg = vae_config(tiny=True)
    vae = randomize(AutoencoderKL(**vcfg), seed + 1).eval()
    encoders = text_encoders(family, tiny=True)
    for i, entry in enumerate(encoders):
        randomize(entry[1], seed + 2 + i).eval()

    # ---- the diffusers folder
    save_component(diff, "unet", unet)
    save_component(diff, "vae", vae)
    components = {"unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}
    for entry in encoders:
        name, model = entry[0], entry[1]
        save_component(diff, name, model, with_text_model_prefix(model.state_dict()), model.config.to_dict())
        components[name] = ["transformers", type(model).__name__]
    index = {"_class_name": {"sdxl": "StableDiffusionXLPipeline", "refiner": "StableDiffusionXLImg2ImgPipeline",
                             "sd1-inpaint": "StableDiffusionInpaintPipeline"}.get(family, "StableDiffusionPipeline"),
             "_diffusers_version": "0.36.0", **components}
    with open(os.path.join(diff, "model_index.json"), "w") as f:
        json.dump(index, f, indent=1)

    # ---- the single file, checked against diffusers' own loader
    unet_sd, vae_sd = unet.state_dict(), vae.state_dict()
    ldm_unet = {"model.diffusion_model." + k: v for k, v in unet_to_ldm(unet_sd, ucfg).items()}
    ldm_vae = {"first_stage_model." + k: v for k, v in vae_to_ldm(vae_sd, vcfg).items()}
    single = {**ldm_unet, **ldm_vae}
    for entry in encoders:
        single.update(single_file_text(entry, entry[1].state_dict()))
    check_roundtrip(family, single, unet_sd, ucfg, vae_sd, vcfg, encoders)
    save_file({k: v.detach().half().contiguous() for k, v in single.items()}, os.path.join(folder, "single.safetensors"))

    # ---- reference inputs and outputs
    save_file(reference(family, unet, ucfg, vae, encoders, seed), os.path.join(folder, "reference.safetensors"))
    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(folder) for f in fs)
    print(f"{family}: {len(single)} single-file tensors, {size / 1e6:.2f} MB")


def check_roundtrip(family, single, unet_sd, ucfg, vae_sd, vcfg, encoders):
    back = sfu.convert_ldm_unet_checkpoint(single, ucfg)
    assert_same("unet", back, unet_sd)
    back = sfu.convert_ldm_vae_checkpoint(single, vcfg)
    assert_same("vae", back, vae_sd)
    for entry in encoders:
        name, model, prefix, layout = entry[:4]
        expected = with_text_model_prefix(model.state_dict())
        if layout == "hf":
            back = sfu.convert_ldm_clip_checkpoint({k: v for k, v in single.items() if k.startswith(prefix)}, prefix)
        else:
            back = sfu.convert_open_clip_checkpoint(model, single, prefix=prefix)
            keep = model.config.num_hidden_layers
            back = {k: v for k, v in back.items() if not any(f"layers.{n}." in k for n in range(keep, keep + 2))}
            if "text_projection.weight" not in expected:
                back.pop("text_projection.weight", None)
        expected.pop("text_model.embeddings.position_ids", None)
        back.pop("text_model.embeddings.position_ids", None)
        assert_same(name, back, expected)
    # Where diffusers' conversion scripts know the structure, they must agree with our converter.
    if family in ("sd1", "sd2", "sd1-inpaint"):
        script_unet = SD_SCRIPT.convert_unet_state_dict(dict(unet_sd))
        assert set(script_unet) == {k[len("model.diffusion_model."):] for k in single if k.startswith("model.diffusion_model.")}, "unet keys differ from the SD script"
        script_vae = SD_SCRIPT.convert_vae_state_dict(dict(vae_sd))
        assert set(script_vae) == {k[len("first_stage_model."):] for k in single if k.startswith("first_stage_model.")}, "vae keys differ from the SD script"
    if family == "sdxl":
        script_unet = SDXL_SCRIPT.convert_unet_state_dict(dict(unet_sd))
        assert set(script_unet) == {k[len("model.diffusion_model."):] for k in single if k.startswith("model.diffusion_model.")}, "unet keys differ from the SDXL script"
        enc2 = encoders[1][1]
        script_te = SDXL_SCRIPT.convert_openclip_text_enc_state_dict(with_text_model_prefix(enc2.state_dict()))
        ours = {k[len("conditioner.embedders.1.model."):] for k in single if k.startswith("conditioner.embedders.1.model.")}
        assert set(script_te) - {"text_projection.weight"} | {"text_projection"} == ours, "openclip keys differ from the SDXL script"


def assert_same(what, got, expected):
    missing = set(expected) - set(got)
    extra = set(got) - set(expected)
    assert not missing and not extra, f"{what}: missing {sorted(missing)[:5]}, extra {sorted(extra)[:5]}"
    for k in expected:
        assert got[k].shape == expected[k].shape and torch.equal(got[k].float(), expected[k].float()), f"{what}: {k} differs"


@torch.no_grad()
def reference(family, unet, ucfg, vae, encoders, seed):
    g = torch.Generator().manual_seed(seed + 100)
    ref = {}
    b, h, w = 2, 8, 8
    x = torch.randn(b, ucfg["in_channels"], h, w, generator=g)
    t = torch.tensor([999.0, 437.5])
    ctx = torch.randn(b, 7, ucfg["cross_attention_dim"], generator=g)
    kwargs = {}
    if ucfg.get("addition_embed_type") == "text_time":
        n_time = 6 if family == "sdxl" else 5
        pooled = torch.randn(b, ucfg["projection_class_embeddings_input_dim"] - n_time * ucfg["addition_time_embed_dim"], generator=g)
        time_ids = torch.tensor([[64.0, 48.0, 0.0, 8.0, 64.0, 48.0][:n_time], [1024.0, 1024.0, 16.0, 0.0, 6.0, 0.0][:n_time]])
        kwargs = {"added_cond_kwargs": {"text_embeds": pooled, "time_ids": time_ids}}
        ref.update(unet_text_embeds=pooled, unet_time_ids=time_ids)
    ref.update(unet_sample=x, unet_timestep=t, unet_context=ctx,
               unet_out=unet(x, t, encoder_hidden_states=ctx, **kwargs).sample)

    image = torch.rand(1, 3, 32, 32, generator=g) * 2 - 1
    dist = vae.encode(image).latent_dist
    latent = torch.randn(1, 4, 4, 4, generator=g)
    ref.update(vae_image=image, vae_mean=dist.mean, vae_logvar=dist.logvar, vae_latent=latent,
               vae_decoded=vae.decode(latent).sample)

    for i, entry in enumerate(encoders):
        name, model = entry[0], entry[1]
        cfg = model.config
        ids = torch.randint(0, cfg.vocab_size - 2, (2, 77), generator=g)
        ids[:, 0] = cfg.bos_token_id
        ids[0, 10:] = cfg.eos_token_id      # padded with EOS (SD 1.x style)
        ids[1, 20] = cfg.eos_token_id
        ids[1, 21:] = 0                     # padded with 0 after the first EOS (OpenCLIP style)
        out = model(ids, output_hidden_states=True)
        ref[f"{name}_ids"] = ids.to(torch.int64)
        ref[f"{name}_hidden_states"] = torch.stack(out.hidden_states)
        ref[f"{name}_last"] = out.last_hidden_state
        if hasattr(out, "text_embeds"):
            ref[f"{name}_text_embeds"] = out.text_embeds
        else:
            ref[f"{name}_pooled"] = out.pooler_output
    return {k: v.contiguous().float() if v.dtype != torch.int64 else v.contiguous() for k, v in ref.items()}


def make_shapes(family):
    with torch.device("meta"):
        ucfg = unet_config(family, tiny=False)
        unet = UNet2DConditionModel(**ucfg)
        vcfg = vae_config(tiny=False)
        vae = AutoencoderKL(**vcfg)
        encoders = text_encoders(family, tiny=False)
    single = {"model.diffusion_model." + k: v for k, v in unet_to_ldm(unet.state_dict(), ucfg).items()}
    single.update({"first_stage_model." + k: v for k, v in vae_to_ldm(vae.state_dict(), vcfg).items()})
    for entry in encoders:
        sd = entry[1].state_dict()
        single.update(single_file_text(entry, sd) if len(entry) <= 4 else shapes_openclip_full(entry, sd))
    if family == "sd1" or family == "sd1-inpaint":
        single["cond_stage_model.transformer.text_model.embeddings.position_ids"] = torch.empty(1, 77, device="meta")
    listing = {k: list(v.shape) for k, v in single.items()}
    os.makedirs(os.path.join(OUT, "shapes"), exist_ok=True)
    with open(os.path.join(OUT, "shapes", f"{family}.json"), "w") as f:
        json.dump(listing, f, separators=(",", ":"))
    params = sum(int(torch.tensor(s).prod()) if s else 1 for s in listing.values())
    print(f"shapes/{family}: {len(listing)} tensors, {params / 1e6:.0f}M parameters")


def shapes_openclip_full(entry, sd):
    name, model, prefix, layout, full_layers = entry
    oc = openclip_from_hf(with_text_model_prefix(sd))
    last = full_layers - 1
    for k, v in list(oc.items()):
        if k.startswith(f"transformer.resblocks.{last - 1}."):
            oc[k.replace(f"resblocks.{last - 1}.", f"resblocks.{last}.")] = v
    hidden = oc["ln_final.weight"].shape[0]
    oc["text_projection"] = torch.empty(hidden, hidden, device="meta")
    return {prefix + k: v for k, v in oc.items()}


if __name__ == "__main__":
    families = ["sd1", "sd2", "sdxl", "refiner", "sd1-inpaint"]
    for i, family in enumerate(families):
        make_family(family, seed=1000 * (i + 1))
    for family in families:
        make_shapes(family)
