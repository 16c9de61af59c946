"""Full-size random-weight checkpoints of every family in the original single-file layout, with diffusers' and
transformers' fp32 outputs on small inputs, for `SdSharp.Bench verify-full` to compare against on the GPU machine.

Usage: python3 make_fullsize_check.py DIFFUSERS_SRC OUT_DIR [family ...]
Writes OUT_DIR/<family>.safetensors (fp16 weights) and OUT_DIR/<family>.reference.safetensors.
"""
import importlib.util
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("fixtures", os.path.join(HERE, "make_model_fixtures.py"))
fx = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fx)  # reads DIFFUSERS_SRC and OUT_DIR from argv like this script

from diffusers import AutoencoderKL, UNet2DConditionModel  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

OUT = sys.argv[2]
FAMILIES = sys.argv[3:] or ["sd1", "sd2", "sdxl", "refiner", "sd1-inpaint"]
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


@torch.no_grad()
def main():
    os.makedirs(OUT, exist_ok=True)
    for i, family in enumerate(FAMILIES):
        seed = 7000 + i
        ucfg = fx.unet_config(family, tiny=False)
        unet = fx.randomize(UNet2DConditionModel(**ucfg), seed).eval()
        vcfg = fx.vae_config(tiny=False)
        vae = fx.randomize(AutoencoderKL(**vcfg), seed + 1).eval()
        encoders = fx.text_encoders(family, tiny=False)
        for k, entry in enumerate(encoders):
            fx.randomize(entry[1], seed + 2 + k).eval()

        single = {"model.diffusion_model." + k: v for k, v in fx.unet_to_ldm(unet.state_dict(), ucfg).items()}
        single.update({"first_stage_model." + k: v for k, v in fx.vae_to_ldm(vae.state_dict(), vcfg).items()})
        for entry in encoders:
            single.update(fx.single_file_text(entry, entry[1].state_dict()))
        if family in ("sd1", "sd1-inpaint"):
            single["cond_stage_model.transformer.text_model.embeddings.position_ids"] = torch.arange(77, dtype=torch.int64)[None]
        save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in single.items()}, os.path.join(OUT, f"{family}.safetensors"))
        del single

        dev = "cuda"
        g = torch.Generator().manual_seed(seed + 100)
        ref = {}
        x = torch.randn(2, ucfg["in_channels"], 16, 16, generator=g)
        t = torch.tensor([999.0, 437.5])
        ctx = torch.randn(2, 77, ucfg["cross_attention_dim"], generator=g)
        kwargs = {}
        if ucfg.get("addition_embed_type") == "text_time":
            n_time = 6 if family == "sdxl" else 5
            pooled = torch.randn(2, ucfg["projection_class_embeddings_input_dim"] - n_time * 256, generator=g)
            time_ids = torch.tensor([[1024.0, 1024, 0, 0, 1024, 1024][:n_time], [768.0, 1344, 32, 0, 6.0, 0][:n_time]])
            kwargs = {"added_cond_kwargs": {"text_embeds": pooled.to(dev), "time_ids": time_ids.to(dev)}}
            ref.update(unet_text_embeds=pooled, unet_time_ids=time_ids)
        unet.to(dev)
        ref.update(unet_sample=x, unet_timestep=t, unet_context=ctx,
                   unet_out=unet(x.to(dev), t.to(dev), encoder_hidden_states=ctx.to(dev), **kwargs).sample.cpu())
        unet.to("cpu")
        del unet
        vae.to(dev)
        image = torch.rand(1, 3, 64, 64, generator=g) * 2 - 1
        dist = vae.encode(image.to(dev)).latent_dist
        latent = torch.randn(1, 4, 8, 8, generator=g)
        ref.update(vae_image=image, vae_mean=dist.mean.cpu(), vae_logvar=dist.logvar.cpu(), vae_latent=latent,
                   vae_decoded=vae.decode(latent.to(dev)).sample.cpu())
        vae.to("cpu")
        for entry in encoders:
            name, model = entry[0], entry[1]
            model.to(dev)
            ids = torch.randint(0, 49406, (2, 77), generator=g)
            ids[:, 0] = 49406
            ids[0, 12:] = 49407
            ids[1, 30] = 49407
            ids[1, 31:] = 0
            out = model(ids.to(dev), output_hidden_states=True)
            ref[f"{name}_ids"] = ids
            ref[f"{name}_penultimate"] = out.hidden_states[-2].cpu()
            ref[f"{name}_last"] = out.last_hidden_state.cpu()
            if hasattr(out, "text_embeds"):
                ref[f"{name}_text_embeds"] = out.text_embeds.cpu()
            else:
                ref[f"{name}_pooled"] = out.pooler_output.cpu()
            model.to("cpu")
        save_file({k: (v.float() if v.is_floating_point() else v).contiguous() for k, v in ref.items()},
                  os.path.join(OUT, f"{family}.reference.safetensors"))
        print(f"{family}: written", flush=True)
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
