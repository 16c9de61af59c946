"""Full-size LoRA check on the GPU machine: a random-weight SDXL single file (built by fullsize_pipeline_check.py's
build(), imported, not copied) and a kohya-format SDXL LoRA of real shape with random values: rank 32, alpha 16, on
every attention and feed-forward linear layer of the UNet (proj_in/out, attn1/attn2 q/k/v/out, ff) and of both
text encoders (q/k/v/out_proj, fc1, fc2), named as kohya's sd-scripts names them for SDXL (lora_unet_* with the
original layout's names, lora_te1_*, lora_te2_* with Hugging Face names). The `sdsharp` command then runs txt2img
on CUDA in fp16 at 1024x1024 without and with `--lora FILE:1`, and the report gives what its --verbose prints:
the model's load time, the LoRA's apply time (reading the file, merging every targeted weight, uploading the
copies) and the time per sampling step with and without it.

It also checks the hypernetwork activations on CUDA: one A1111-format hypernetwork per supported activation for
the tiny SD 1.x fixture, all in one prompt, the command's latents on CUDA (fp32) against its latents on the CPU.

Usage: python3 fullsize_lora_check.py DIFFUSERS_SRC WORK_DIR SDSHARP MERGES REPORT_JSON
  the same arguments as fullsize_pipeline_check.py (SDSHARP: the published command, MERGES: OpenAI's
  bpe_simple_vocab_16e6.txt.gz), e.g. REPORT_JSON=$OUT/fullsize_lora.json

About three minutes on an H100: a minute or two to build and write the 7 GB single file on the CPU, then two
command runs (each loads the model; 8 steps at 1024x1024 with CFG).
"""
import importlib.util
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DIFFUSERS_SRC, WORK, SDSHARP, MERGES, REPORT = sys.argv[1:6]

# fullsize_pipeline_check.py reads its arguments when imported: give it the same ones, for the SDXL family only.
sys.argv = [sys.argv[0], DIFFUSERS_SRC, WORK, SDSHARP, MERGES, REPORT + ".pipeline-unused.json", "sdxl"]
spec = importlib.util.spec_from_file_location("fullsize_pipeline_check", os.path.join(HERE, "fullsize_pipeline_check.py"))
pipeline_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pipeline_check)

import torch  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

RANK, ALPHA, STEPS, SIZE, SEED = 32, 16.0, 8, 1024, 42
UNET_LAYERS = ("attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "attn2.to_q", "attn2.to_k", "attn2.to_v", "attn2.to_out.0",
               "ff.net.0.proj", "ff.net.2", "proj_in", "proj_out")
TE_LAYERS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2")
TE2_LAYERS = {"attn.out_proj.weight": "self_attn_out_proj", "mlp.c_fc.weight": "mlp_fc1", "mlp.c_proj.weight": "mlp_fc2"}


def lora_targets(shapes):
    """kohya name -> (out, in) for every layer the LoRA covers, from the single file's tensor shapes (name -> shape)."""
    targets = {}
    te1 = "conditioner.embedders.0.transformer.text_model.encoder.layers."
    te2 = "conditioner.embedders.1.model.transformer.resblocks."
    for key, shape in shapes.items():
        if key.startswith("model.diffusion_model.") and key.endswith(".weight"):
            name = key[len("model.diffusion_model."):-len(".weight")]
            if name.endswith(UNET_LAYERS):
                targets["lora_unet_" + name.replace(".", "_")] = (shape[0], shape[1])  # proj_in/out may be [out, in, 1, 1]
        elif key.startswith(te1) and key.endswith(".weight"):
            layer, rest = key[len(te1):-len(".weight")].split(".", 1)
            if rest in TE_LAYERS:
                targets[f"lora_te1_text_model_encoder_layers_{layer}_{rest.replace('.', '_')}"] = (shape[0], shape[1])
        elif key.startswith(te2):
            layer, rest = key[len(te2):].split(".", 1)
            prefix = f"lora_te2_text_model_encoder_layers_{layer}_"
            if rest == "attn.in_proj_weight":  # OpenCLIP's fused q/k/v rows: kohya names the Hugging Face layers
                width = shape[1]
                for part in ("q", "k", "v"):
                    targets[prefix + f"self_attn_{part}_proj"] = (width, width)
            elif rest in TE2_LAYERS:
                targets[prefix + TE2_LAYERS[rest]] = (shape[0], shape[1])
    return targets


def file_shapes(path):
    with safe_open(path, "pt") as f:
        return {key: f.get_slice(key).get_shape() for key in f.keys()}


def make_lora(targets, path):
    generator = torch.Generator().manual_seed(7)
    tensors = {}
    for name, (out, inp) in sorted(targets.items()):
        # Random, but of a size a trained LoRA's delta has: small next to the weights.
        down = torch.randn(RANK, inp, generator=generator) / inp ** 0.5
        up = torch.randn(out, RANK, generator=generator) * 0.01
        tensors[name + ".lora_down.weight"] = down.half()
        tensors[name + ".lora_up.weight"] = up.half()
        tensors[name + ".alpha"] = torch.tensor(ALPHA).half()
    save_file(tensors, path, metadata={"ss_network_dim": str(RANK), "ss_network_alpha": str(ALPHA), "ss_base_model_version": "sdxl_base_v1-0"})
    return len(targets), sum(t.numel() for t in tensors.values())


def run_sdsharp(model, latents, *extra):
    command = [SDSHARP, "txt2img", "-m", model, "--tokenizer", MERGES, "-p", "a photograph of an astronaut riding a horse", "-n", "blurry",
               "--sampler", "Euler", "--steps", str(STEPS), "--seed", str(SEED), "-W", str(SIZE), "-H", str(SIZE), "--device", "cuda",
               "--precision", "fp16", "--latents-out", latents, "-o", latents + ".png", "--verbose", *extra]
    start = time.time()
    run = subprocess.run(command, capture_output=True, text=True, timeout=560)
    wall = time.time() - start
    if run.returncode != 0:
        raise RuntimeError(f"sdsharp exited {run.returncode}: {run.stderr.strip()[-2000:]}")

    def number(pattern):
        m = re.search(pattern, run.stderr)
        return float(m.group(1)) if m else None

    return dict(
        wall_s=round(wall, 2),
        model_load_s=number(r"model loaded on .* in ([\d.]+) s"),
        addon_apply_s=number(r"add-ons \(LoRAs, hypernetworks\) applied in ([\d.]+) s"),
        step_s=number(r"sampling: ([\d.]+) s/step"),
        warnings=[line for line in run.stderr.splitlines() if line.startswith("warning: ")][:20],
    ), load_file(latents)["latent_0"].float()


ACTIVATIONS = ["relu", "leakyrelu", "elu", "celu", "swish", "hardswish", "tanh", "sigmoid", "gelu", "silu", "mish", "softplus", "softsign",
               "selu", "relu6", "hardsigmoid"]


def hypernetwork_check():
    """Every hypernetwork activation SdSharp supports, through the command on CUDA (fp32) and on the CPU: one
    A1111-format hypernetwork per activation for the tiny SD 1.x fixture's widths (8, 16, 32), all in one prompt."""
    root = os.path.dirname(os.path.dirname(HERE))
    folder = os.path.join(WORK, "hypernetworks")
    os.makedirs(folder, exist_ok=True)
    generator = torch.Generator().manual_seed(3)
    for act in ACTIVATIONS:
        hn = {}
        for dim in (8, 16, 32):
            def module():
                # layer_structure [1, 2, 1], layer norm, activation after both layers: Linear, act, LayerNorm, Linear, act, LayerNorm
                return {"linear.0.weight": torch.randn(2 * dim, dim, generator=generator) * 0.3, "linear.0.bias": torch.randn(2 * dim, generator=generator) * 0.1,
                        "linear.2.weight": 1 + torch.randn(2 * dim, generator=generator) * 0.1, "linear.2.bias": torch.randn(2 * dim, generator=generator) * 0.1,
                        "linear.3.weight": torch.randn(dim, 2 * dim, generator=generator) * 0.3, "linear.3.bias": torch.randn(dim, generator=generator) * 0.1,
                        "linear.5.weight": 1 + torch.randn(dim, generator=generator) * 0.1, "linear.5.bias": torch.randn(dim, generator=generator) * 0.1}
            hn[dim] = (module(), module())
        hn.update({"layer_structure": [1, 2, 1], "activation_func": act, "is_layer_norm": True, "activate_output": True,
                   "use_dropout": False, "dropout_structure": [0, 0, 0], "last_layer_dropout": False, "name": act})
        torch.save(hn, os.path.join(folder, f"hn_{act}.pt"))
    prompt = "a red circle " + " ".join(f"<hypernet:hn_{act}:0.3>" for act in ACTIVATIONS)
    results = {}
    for device, precision in (("cpu", "fp32"), ("cuda", "fp32")):
        latents = os.path.join(WORK, f"hn-{device}.safetensors")
        command = [SDSHARP, "txt2img", "-m", os.path.join(root, "tests", "fixtures", "models", "sd1", "diffusers"),
                   "--tokenizer", os.path.join(root, "models", "tiny-shapes", "tokenizer"), "--hypernetwork-dir", folder, "-p", prompt,
                   "--sampler", "Euler", "--steps", "4", "--seed", "1", "-W", "64", "-H", "64", "--device", device, "--precision", precision,
                   "--latents-out", latents, "-o", latents + ".png"]
        run = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if run.returncode != 0:
            raise RuntimeError(f"sdsharp ({device}) exited {run.returncode}: {run.stderr.strip()[-2000:]}")
        results[device] = (load_file(latents)["latent_0"].double(), [line for line in run.stderr.splitlines() if line.startswith("warning: ")])
    (cpu, cpu_warnings), (cuda, cuda_warnings) = results["cpu"], results["cuda"]
    return dict(activations=ACTIVATIONS, cuda_vs_cpu_relative_l2=float((cuda - cpu).norm() / cpu.norm()), warnings=cpu_warnings + cuda_warnings)


def main():
    os.makedirs(WORK, exist_ok=True)
    report = dict(device=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, size=SIZE, steps=STEPS, precision="fp16",
                  rank=RANK, alpha=ALPHA)
    try:
        start = time.time()
        single, unet, vae, encoders = pipeline_check.build("sdxl", 9300)
        del unet, vae, encoders
        report["build_single_file_s"] = round(time.time() - start, 1)
        lora = os.path.join(WORK, "sdxl_lora_r32.safetensors")
        layers, parameters = make_lora(lora_targets(file_shapes(single)), lora)
        report["lora"] = dict(layers=layers, parameters=parameters, file_mb=round(os.path.getsize(lora) / 2**20, 1))
        print("lora", report["lora"], flush=True)
        report["without_lora"], plain = run_sdsharp(single, os.path.join(WORK, "plain.safetensors"))
        print("without", report["without_lora"], flush=True)
        report["with_lora"], with_lora = run_sdsharp(single, os.path.join(WORK, "lora.safetensors"), "--lora", lora + ":1")
        print("with", report["with_lora"], flush=True)
        # The LoRA must change the result, and every one of its keys must have found a layer (no warnings).
        report["latent_relative_change"] = float((with_lora - plain).norm() / plain.norm())
        w, p = report["with_lora"]["step_s"], report["without_lora"]["step_s"]
        if w and p:
            report["step_cost_ratio"] = round(w / p, 4)
        os.remove(single)
    except Exception as e:
        report["error"] = str(e)[-2000:]
        print("failed:", e, flush=True)
    try:
        report["hypernetworks"] = hypernetwork_check()
        print("hypernetworks", report["hypernetworks"], flush=True)
    except Exception as e:
        report["hypernetworks"] = dict(error=str(e)[-2000:])
        print("hypernetworks failed:", e, flush=True)
    with open(REPORT, "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
