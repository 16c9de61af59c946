"""diffusers' side of bench/run-gpu.sh: builds random-weight full-size models (saved as diffusers folders that
SdSharp then loads, so both time identical weights) and times diffusers on them in fp16 with SDPA and
channels-last, eager and torch.compile(mode="reduce-overhead").

Usage: python3 bench_diffusers.py DIFFUSERS_SRC MODELS_DIR OUT_JSON [--compile sd15,sdxl] [--merges bpe_simple_vocab_16e6.txt.gz]
With --merges the SD 1.5 folder becomes a whole pipeline (CLIP-L text encoder, tokenizer, Euler scheduler) and a
whole image is timed too: 512×512, 20 Euler steps, CFG 7 with a negative prompt, decoded to pixels.
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, sys.argv[1])
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip_vocab  # noqa: E402
from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel  # noqa: E402
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer  # noqa: E402

MODELS, OUT = sys.argv[2], sys.argv[3]
COMPILE = sys.argv[sys.argv.index("--compile") + 1].split(",") if "--compile" in sys.argv else []
MERGES = sys.argv[sys.argv.index("--merges") + 1] if "--merges" in sys.argv else None
PROMPT, NEGATIVE = "a photograph of an astronaut riding a horse", "blurry, low quality"
SCHEDULE = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", timestep_spacing="linspace")
CLIP_L = dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
              max_position_embeddings=77, hidden_act="quick_gelu", projection_dim=768)
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True

SD15 = dict(sample_size=64, in_channels=4, out_channels=4, down_block_types=["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
            up_block_types=["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3, block_out_channels=[320, 640, 1280, 1280],
            layers_per_block=2, cross_attention_dim=768, attention_head_dim=8)
SDXL = dict(sample_size=128, in_channels=4, out_channels=4, down_block_types=["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
            up_block_types=["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], block_out_channels=[320, 640, 1280],
            layers_per_block=2, transformer_layers_per_block=[1, 2, 10], attention_head_dim=[5, 10, 20], use_linear_projection=True,
            cross_attention_dim=2048, addition_embed_type="text_time", addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816)
VAE = dict(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, down_block_types=["DownEncoderBlock2D"] * 4,
           up_block_types=["UpDecoderBlock2D"] * 4, block_out_channels=[128, 256, 512, 512], sample_size=512)


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 1:
                p.copy_((1.0 if "norm" in name and name.endswith("weight") else 0.0) + 0.05 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / p[0].numel() ** 0.5)
    return model


def save(name, components):
    folder = os.path.join(MODELS, name)
    index = {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.36.0"}
    for component, model in components.items():
        if isinstance(model, torch.nn.Module):
            model.half().save_pretrained(os.path.join(folder, component), safe_serialization=True)
        else:
            model.save_pretrained(os.path.join(folder, component))
        library = "transformers" if type(model).__module__.startswith("transformers") else "diffusers"
        index[component] = [library, type(model).__name__]
    with open(os.path.join(folder, "model_index.json"), "w") as f:
        json.dump(index, f)


def timed(fn, warmup=3, runs=20):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(runs):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / runs


@torch.no_grad()
def main():
    results = {"device": torch.cuda.get_device_name(), "torch": torch.__version__}
    unet15 = randomize(UNet2DConditionModel(**SD15), 1)
    unetxl = randomize(UNet2DConditionModel(**SDXL), 2)
    vae = randomize(AutoencoderKL(**VAE), 3)
    sd15 = {"unet": unet15, "vae": vae}
    if MERGES:
        sd15["text_encoder"] = randomize(CLIPTextModel(CLIPTextConfig(**CLIP_L)), 4)
        sd15["tokenizer"] = CLIPTokenizer.from_pretrained(clip_vocab.write_tokenizer_folder(os.path.join(MODELS, "tokenizer"), MERGES, "<|endoftext|>"))
        sd15["scheduler"] = EulerDiscreteScheduler(**SCHEDULE)
    save("sd15", sd15)
    if MERGES:  # transformers may save only tokenizer.json; the folder keeps the vocab.json + merges.txt pair too
        clip_vocab.write_tokenizer_folder(os.path.join(MODELS, "sd15", "tokenizer"), MERGES, "<|endoftext|>")
    save("sdxl", {"unet": unetxl})
    dev = "cuda"
    cases = {
        "sd15_step": (unet15, lambda m: m(x15, t, encoder_hidden_states=c15)),
        "sdxl_step": (unetxl, lambda m: m(xxl, t, encoder_hidden_states=cxl, added_cond_kwargs=added)),
        "vae_decode_512": (vae, lambda m: m.decode(z512)),
        "vae_decode_1024": (vae, lambda m: m.decode(z1024)),
    }
    x15 = torch.randn(2, 4, 64, 64, device=dev, dtype=torch.half).to(memory_format=torch.channels_last)
    xxl = torch.randn(2, 4, 128, 128, device=dev, dtype=torch.half).to(memory_format=torch.channels_last)
    t = torch.tensor([500.0, 500.0], device=dev)
    c15 = torch.randn(2, 77, 768, device=dev, dtype=torch.half)
    cxl = torch.randn(2, 77, 2048, device=dev, dtype=torch.half)
    added = {"text_embeds": torch.randn(2, 1280, device=dev, dtype=torch.half),
             "time_ids": torch.tensor([[1024.0, 1024, 0, 0, 1024, 1024]] * 2, device=dev, dtype=torch.half)}
    z512 = torch.randn(1, 4, 64, 64, device=dev, dtype=torch.half).to(memory_format=torch.channels_last)
    z1024 = torch.randn(1, 4, 128, 128, device=dev, dtype=torch.half).to(memory_format=torch.channels_last)
    for name, (model, call) in cases.items():
        model.to(dev, torch.half).to(memory_format=torch.channels_last).eval()
        torch.cuda.reset_peak_memory_stats()
        ms = timed(lambda: call(model))
        results[name] = {"eager_ms": ms, "eager_peak_mb": torch.cuda.max_memory_allocated() / 1e6}
        print(f"diffusers {name}: eager {ms:.2f} ms", flush=True)
        key = name.split("_")[0]
        if key in COMPILE or (key == "vae" and "vae" in COMPILE):
            compiled = torch.compile(model, mode="reduce-overhead")
            t0 = time.time()
            ms = timed(lambda: call(compiled), warmup=4)
            results[name]["reduce_overhead_ms"] = ms
            print(f"diffusers {name}: reduce-overhead {ms:.2f} ms (compile+warm-up {time.time() - t0:.0f} s)", flush=True)
        model.to("cpu")
        torch.cuda.empty_cache()
    if MERGES:
        pipe = StableDiffusionPipeline(**sd15, safety_checker=None, feature_extractor=None, requires_safety_checker=False)
        pipe.to(dev, torch.half)
        pipe.unet.to(memory_format=torch.channels_last)
        pipe.vae.to(memory_format=torch.channels_last)
        pipe.set_progress_bar_config(disable=True)
        torch.cuda.reset_peak_memory_stats()
        image = lambda: pipe(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=20, guidance_scale=7.0, width=512, height=512,
                             generator=torch.Generator("cpu").manual_seed(1), output_type="np")
        ms = timed(image, warmup=1, runs=3)
        results["sd15_image_512"] = {"eager_ms": ms, "eager_peak_mb": torch.cuda.max_memory_allocated() / 1e6}
        print(f"diffusers sd15_image_512: eager {ms:.2f} ms", flush=True)
    with open(OUT, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
