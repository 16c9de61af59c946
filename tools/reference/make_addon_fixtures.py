"""Fixtures for the add-on tests (LoRA family, embeddings, hypernetworks), made with torch and numpy alone.

Usage: python3 make_addon_fixtures.py REPO_ROOT OUT_DIR   (OUT_DIR: tests/fixtures/addons)

Runs on the CPU with any torch >= 1.13: no diffusers or peft runtime is needed, because every reference here
is the documented formula applied to the tiny model fixtures (tests/fixtures/models/*/single.safetensors):

* Each LoRA-family file comes with "<name>.merged.safetensors": the base checkpoint with every targeted weight
  replaced by fp16(W + delta), delta computed as A1111's network modules compute it (lyco_helpers'
  rebuild_conventional / rebuild_cp_decomposition / make_weight_cp, torch.kron, up @ down * alpha / rank *
  multiplier). The C# tests run the base model with the LoRA and the merged checkpoint without, and compare.
* The mapping from each file's key naming to the checkpoint's keys is made here independently of SdSharp:
  diffusers names are matched to original names by comparing the tensors of the fixture's diffusers folder
  with those of its single file (the two hold the same weights), and OpenCLIP's fused q/k/v rows are edited
  directly in the single file's in_proj_weight.
* A linear hypernetwork with zero biases is an exact weight merge too (k = W_k (x + m W2 W1 x)), so its
  reference is a merged checkpoint as well; a non-linear one is checked module by module (inputs, outputs).
* Embeddings are A1111 .pt (torch.save of string_to_param), safetensors (emb_params) and SDXL (clip_l/clip_g)
  files whose vectors are rows of the bundled model's token table, so that "name" must encode exactly like the
  words those rows belong to.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

REPO, OUT = sys.argv[1], sys.argv[2]
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(1234)

DT = {"F16": np.float16, "F32": np.float32, "BF16": None}
NAMES = {torch.float16: "F16", torch.float32: "F32"}


def read_st(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for k, v in header.items():
        a, b = v["data_offsets"]
        arr = np.frombuffer(data[8 + n + a:8 + n + b], dtype=DT[v["dtype"]]).reshape(v["shape"])
        out[k] = torch.from_numpy(arr.copy())
    return out, meta


def write_st(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for k, t in tensors.items():
        t = t.contiguous()
        b = t.numpy().tobytes()
        header[k] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def model(family):
    base, _ = read_st(os.path.join(REPO, "tests/fixtures/models", family, "single.safetensors"))
    unet, _ = read_st(os.path.join(REPO, "tests/fixtures/models", family, "diffusers/unet/diffusion_pytorch_model.safetensors"))
    # diffusers name -> original key, by identical tensors (random weights are unique; ambiguous ones are left out)
    by_bytes = {}
    for k, v in base.items():
        if k.startswith("model.diffusion_model."):
            by_bytes.setdefault((tuple(v.shape), v.numpy().tobytes()), []).append(k)
    to_original = {}
    for k, v in unet.items():
        for shape in (tuple(v.shape), tuple(v.shape) + (1, 1)):
            hits = by_bytes.get((shape, v.numpy().tobytes()), [])
            if len(hits) == 1:
                to_original[k] = hits[0]
    return base, unet, to_original


def merge(base, deltas, out_path):
    """fp16(W + sum of deltas) for each edited key; deltas: key -> (row slice or None, fp32 delta)."""
    merged = dict(base)
    acc = {}
    for key, rows, delta in deltas:
        full = acc.setdefault(key, torch.zeros(base[key].shape, dtype=torch.float32))
        d = delta.reshape(full[rows].shape if rows is not None else full.shape)
        if rows is not None:
            full[rows] += d
        else:
            full += d
    for key, d in acc.items():
        merged[key] = (base[key].float() + d).to(base[key].dtype)
    write_st(out_path, merged)


def rnd(*shape, scale=0.3):
    return torch.randn(*shape) * scale


def lora_delta(up, down, alpha, mult, mid=None):
    rank = down.shape[0]
    if mid is not None:  # rebuild_cp_decomposition
        d = torch.einsum("n m k l, i n, m j -> i j k l", mid, up.reshape(up.shape[0], -1), down.reshape(down.shape[0], -1))
    else:  # rebuild_conventional
        d = up.reshape(up.shape[0], -1).float() @ down.reshape(rank, -1).float()
    return d * (alpha / rank) * mult


def make_weight_cp(t, wa, wb):
    temp = torch.einsum("i j k l, j r -> i r k l", t, wb)
    return torch.einsum("i j k l, i r -> r j k l", temp, wa)


# ------------------------------------------------------------------ SD 1.x: kohya (diffusers-flattened names)

base, unet, to_orig = model("sd1")
TE = "cond_stage_model.transformer."
te_layers = [f"text_model.encoder.layers.{i}.{p}" for i in range(3) for p in
             ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2"]]
attn_targets = sorted({k[:-len(".weight")] for k in unet if k.endswith(".weight") and ".attentions." in k and
                       any(k.endswith(s + ".weight") for s in ["to_q", "to_k", "to_v", "to_out.0", "ff.net.0.proj", "ff.net.2", "proj_in", "proj_out"])})
conv_targets = ["down_blocks.0.resnets.0.conv1", "up_blocks.1.resnets.2.conv2", "down_blocks.1.downsamplers.0.conv",
                "up_blocks.0.upsamplers.0.conv", "mid_block.resnets.0.time_emb_proj", "down_blocks.2.resnets.0.conv_shortcut"]


def kohya_sd1(path, mult, alpha=2.0, rank=4, dtype=torch.float16):
    lora, deltas = {}, []
    for name in attn_targets + conv_targets:
        w = base[to_orig[name + ".weight"]]
        key = "lora_unet_" + name.replace(".", "_")
        if w.dim() == 4:
            down, up = rnd(rank, w.shape[1], w.shape[2], w.shape[3]), rnd(w.shape[0], rank, 1, 1)
        else:
            down, up = rnd(rank, w.shape[1]), rnd(w.shape[0], rank)
        down, up = down.to(dtype), up.to(dtype)
        lora[key + ".lora_down.weight"], lora[key + ".lora_up.weight"] = down, up
        lora[key + ".alpha"] = torch.tensor(alpha, dtype=dtype)
        deltas.append((to_orig[name + ".weight"], None, lora_delta(up.float(), down.float(), alpha, mult)))
    for name in te_layers:
        w = base[TE + name + ".weight"]
        key = "lora_te_" + name.replace(".", "_")
        down, up = rnd(rank, w.shape[1]).to(dtype), rnd(w.shape[0], rank).to(dtype)
        lora[key + ".lora_down.weight"], lora[key + ".lora_up.weight"] = down, up
        lora[key + ".alpha"] = torch.tensor(alpha, dtype=dtype)
        deltas.append((TE + name + ".weight", None, lora_delta(up.float(), down.float(), alpha, mult)))
    lora["lora_unet_not_a_layer_anywhere.lora_down.weight"] = torch.zeros(rank, 4, dtype=dtype)
    lora["lora_unet_not_a_layer_anywhere.lora_up.weight"] = torch.zeros(4, rank, dtype=dtype)
    write_st(path, lora, {"ss_output_name": "kohya-alias", "ss_network_dim": str(rank), "ss_network_alpha": str(alpha)})
    return deltas


kohya = kohya_sd1(os.path.join(OUT, "kohya_sd1.safetensors"), 0.8)
merge(base, kohya, os.path.join(OUT, "kohya_sd1.merged.safetensors"))

# ------------------------------------------------------------------ SD 1.x: diffusers / PEFT (lora_A, lora_B)

peft, peft_deltas = {}, []
for name in attn_targets[::2] + ["down_blocks.0.resnets.1.conv1"]:
    w = base[to_orig[name + ".weight"]]
    r = 2
    a = rnd(r, *w.shape[1:]) if w.dim() == 4 else rnd(r, w.shape[1])
    b = rnd(w.shape[0], r, 1, 1) if w.dim() == 4 else rnd(w.shape[0], r)
    peft[f"unet.{name}.lora_A.weight"], peft[f"unet.{name}.lora_B.weight"] = a, b
    peft_deltas.append((to_orig[name + ".weight"], None, lora_delta(b, a, r, -0.5)))  # no alpha: scale 1
for name in te_layers[::3]:
    w = base[TE + name + ".weight"]
    a, b = rnd(2, w.shape[1]), rnd(w.shape[0], 2)
    peft[f"text_encoder.{name}.lora_A.weight"], peft[f"text_encoder.{name}.lora_B.weight"] = a, b
    peft_deltas.append((TE + name + ".weight", None, lora_delta(b, a, 2, -0.5)))
write_st(os.path.join(OUT, "peft_sd1.safetensors"), peft)
# <lora:kohya_sd1:0.8> and <lora:peft_sd1:-0.5> together
merge(base, kohya + peft_deltas, os.path.join(OUT, "kohya_peft_sd1.merged.safetensors"))

# ------------------------------------------------------------------ SD 1.x: LyCORIS LoHa, LoKr, full diff, LoCon with a CP core

loha, loha_deltas = {}, []
for name in attn_targets[:6] + ["down_blocks.0.resnets.0.conv2", "up_blocks.2.resnets.0.conv1"]:
    orig = to_orig[name + ".weight"]
    w = base[orig]
    r, alpha = 4, 3.0
    key = "lora_unet_" + name.replace(".", "_")
    out_c, k = w.shape[0], int(np.prod(w.shape[1:]))
    if name.endswith("resnets.0.conv1"):  # Tucker form
        t1, t2 = rnd(r, r, 3, 3), rnd(r, r, 3, 3)
        w1a, w1b, w2a, w2b = rnd(r, out_c), rnd(r, w.shape[1]), rnd(r, out_c), rnd(r, w.shape[1])
        loha.update({key + ".hada_t1": t1, key + ".hada_t2": t2})
        prod = make_weight_cp(t1, w1a, w1b) * make_weight_cp(t2, w2a, w2b)
    else:
        w1a, w1b, w2a, w2b = rnd(out_c, r), rnd(r, k), rnd(out_c, r), rnd(r, k)
        prod = (w1a @ w1b) * (w2a @ w2b)
    loha.update({key + ".hada_w1_a": w1a, key + ".hada_w1_b": w1b, key + ".hada_w2_a": w2a, key + ".hada_w2_b": w2b,
                 key + ".alpha": torch.tensor(alpha)})
    loha_deltas.append((orig, None, prod * (alpha / r) * 1.0))
write_st(os.path.join(OUT, "loha_sd1.safetensors"), loha)
merge(base, loha_deltas, os.path.join(OUT, "loha_sd1.merged.safetensors"))

lokr, lokr_deltas = {}, []
for name in attn_targets[:4] + ["down_blocks.0.resnets.0.conv1"]:
    orig = to_orig[name + ".weight"]
    w = base[orig]
    key = "lora_unet_" + name.replace(".", "_")
    out_c, in_c = w.shape[0], w.shape[1]
    a, b = 2, 2
    c, d = out_c // a, in_c // b
    w1 = rnd(a, b)
    lokr[key + ".lokr_w1"] = w1
    if w.dim() == 4:  # full 4-D second factor: no rank, scale 1
        w2 = rnd(c, d, w.shape[2], w.shape[3])
        lokr[key + ".lokr_w2"] = w2
        kron = torch.kron(w1.unsqueeze(2).unsqueeze(2), w2).reshape(w.shape)
        scale = 1.0
    else:  # low-rank second factor with alpha
        r, alpha = 2, 1.0
        w2a, w2b = rnd(c, r), rnd(r, d)
        lokr.update({key + ".lokr_w2_a": w2a, key + ".lokr_w2_b": w2b, key + ".alpha": torch.tensor(alpha)})
        kron = torch.kron(w1, w2a @ w2b).reshape(w.shape)
        scale = alpha / r
    lokr_deltas.append((orig, None, kron * scale * 0.6))
# a full diff (with its bias) and a LoCon with a CP core in the same file, as LyCORIS mixes them
for name in ["down_blocks.1.attentions.0.transformer_blocks.0.ff.net.2"]:
    orig = to_orig[name + ".weight"]
    key = "lora_unet_" + name.replace(".", "_")
    diff, diff_b = rnd(*base[orig].shape), rnd(base[orig].shape[0])
    lokr.update({key + ".diff": diff, key + ".diff_b": diff_b})
    lokr_deltas.append((orig, None, diff * 0.6))
    lokr_deltas.append((orig[:-len("weight")] + "bias", None, diff_b * 0.6))
for name in ["up_blocks.3.resnets.1.conv1"]:
    orig = to_orig[name + ".weight"]
    w = base[orig]
    key = "lora_unet_" + name.replace(".", "_")
    r, alpha = 3, 1.5
    down, mid, up = rnd(r, w.shape[1], 1, 1), rnd(r, r, 3, 3), rnd(w.shape[0], r, 1, 1)
    lokr.update({key + ".lora_down.weight": down, key + ".lora_mid.weight": mid, key + ".lora_up.weight": up,
                 key + ".alpha": torch.tensor(alpha)})
    lokr_deltas.append((orig, None, lora_delta(up, down, alpha, 0.6, mid=mid)))
write_st(os.path.join(OUT, "lokr_sd1.safetensors"), lokr)
merge(base, lokr_deltas, os.path.join(OUT, "lokr_sd1.merged.safetensors"))

# ------------------------------------------------------------------ SDXL: kohya with original-layout UNet names, te1 and te2

xbase, xunet, xto_orig = model("sdxl")
TE1, TE2 = "conditioner.embedders.0.transformer.", "conditioner.embedders.1.model."
xl, xl_deltas = {}, []
for k in sorted(xbase):
    if not k.startswith("model.diffusion_model.") or not k.endswith(".weight"):
        continue
    name = k[len("model.diffusion_model."):-len(".weight")]
    if not (any(name.endswith(s) for s in ["to_q", "to_k", "to_v", "to_out.0", "proj_in", "proj_out"]) or name in ("input_blocks.1.0.in_layers.2", "input_blocks.3.0.op", "output_blocks.2.1.conv")):
        continue
    w = xbase[k]
    key = "lora_unet_" + name.replace(".", "_")
    down = rnd(4, *w.shape[1:]) if w.dim() == 4 else rnd(4, w.shape[1])
    up = rnd(w.shape[0], 4, 1, 1) if w.dim() == 4 else rnd(w.shape[0], 4)
    xl.update({key + ".lora_down.weight": down.half(), key + ".lora_up.weight": up.half(), key + ".alpha": torch.tensor(8.0).half()})
    xl_deltas.append((k, None, lora_delta(up.half().float(), down.half().float(), 8.0, 1.0)))
width = xbase[TE2 + "transformer.resblocks.0.attn.out_proj.weight"].shape[0]
for i in range(3):
    for part, hf in [("self_attn.q_proj", None), ("self_attn.v_proj", None), ("mlp.fc1", None)]:
        w = xbase[f"{TE1}text_model.encoder.layers.{i}.{part}.weight"]
        down, up = rnd(4, w.shape[1]).half(), rnd(w.shape[0], 4).half()
        key = f"lora_te1_text_model_encoder_layers_{i}_{part.replace('.', '_')}"
        xl.update({key + ".lora_down.weight": down, key + ".lora_up.weight": up, key + ".alpha": torch.tensor(8.0).half()})
        xl_deltas.append((f"{TE1}text_model.encoder.layers.{i}.{part}.weight", None, lora_delta(up.float(), down.float(), 8.0, 1.0)))
        # te2: OpenCLIP's fused in_proj rows for q/v, c_fc for fc1
        key2 = f"lora_te2_text_model_encoder_layers_{i}_{part.replace('.', '_')}"
        if part == "mlp.fc1":
            target, rows = f"{TE2}transformer.resblocks.{i}.mlp.c_fc.weight", None
            shape = xbase[target].shape
        else:
            target = f"{TE2}transformer.resblocks.{i}.attn.in_proj_weight"
            rows = slice(0, width) if part.endswith("q_proj") else slice(2 * width, 3 * width)
            shape = (width, width)
        down2, up2 = rnd(4, shape[1]).half(), rnd(shape[0], 4).half()
        xl.update({key2 + ".lora_down.weight": down2, key2 + ".lora_up.weight": up2, key2 + ".alpha": torch.tensor(8.0).half()})
        xl_deltas.append((target, rows, lora_delta(up2.float(), down2.float(), 8.0, 1.0)))
write_st(os.path.join(OUT, "kohya_sdxl.safetensors"), xl, {"ss_base_model_version": "sdxl_base_v1-0"})
merge(xbase, xl_deltas, os.path.join(OUT, "kohya_sdxl.merged.safetensors"))

# ------------------------------------------------------------------ hypernetworks (SD 1.x fixture: context 32, channels 8 and 16)


def linear_state(dim):
    """"linear" activation, no layer norm: the Sequential is just Linear(dim, 2 dim), Linear(2 dim, dim)."""
    return {"linear.0.weight": rnd(2 * dim, dim, scale=0.2), "linear.0.bias": torch.zeros(2 * dim),
            "linear.1.weight": rnd(dim, 2 * dim, scale=0.2), "linear.1.bias": torch.zeros(dim)}


linear_hn = {32: (linear_state(32), linear_state(32)), 8: (linear_state(8), linear_state(8))}
linear_hn.update({"layer_structure": [1, 2, 1], "activation_func": "linear", "is_layer_norm": False,
                  "weight_initialization": "Normal", "use_dropout": False, "activate_output": False,
                  "dropout_structure": [0, 0, 0], "last_layer_dropout": False, "name": "linear_hn", "step": 10,
                  "sd_checkpoint": "0123456789", "sd_checkpoint_name": "tiny"})
torch.save(linear_hn, os.path.join(OUT, "linear_hn.pt"))
hn_deltas = []
m = 0.7
for k in sorted(base):
    if not k.startswith("model.diffusion_model.") or not (k.endswith("to_k.weight") or k.endswith("to_v.weight")):
        continue
    w = base[k].float()
    width_in = w.shape[1]
    if width_in not in (32, 8):
        continue
    sd = linear_hn[width_in][0 if k.endswith("to_k.weight") else 1]
    inner = sd["linear.1.weight"] @ sd["linear.0.weight"]  # biases are zero: x -> x + m W2 W1 x
    hn_deltas.append((k, None, m * (w @ inner)))
merge(base, hn_deltas, os.path.join(OUT, "linear_hn.merged.safetensors"))

# a non-linear one: relu after every layer, layer norm, dropout structure (inactive at inference)
structure = [1, 1.5, 1]
relu_hn = {}
for dim in (32, 16):
    pair = []
    for _ in range(2):
        sd, idx = {}, 0
        for i in range(len(structure) - 1):
            a, b = int(dim * structure[i]), int(dim * structure[i + 1])
            sd[f"linear.{idx}.weight"], sd[f"linear.{idx}.bias"] = rnd(b, a, scale=0.2), rnd(b, scale=0.2)
            idx += 2  # Linear, ReLU
            sd[f"linear.{idx}.weight"], sd[f"linear.{idx}.bias"] = 1 + rnd(b, scale=0.1), rnd(b, scale=0.1)
            idx += 1  # LayerNorm
            if i == 0:
                idx += 1  # Dropout after the hidden layer
        pair.append(sd)
    relu_hn[dim] = tuple(pair)
relu_hn.update({"layer_structure": structure, "activation_func": "relu", "is_layer_norm": True,
                "weight_initialization": "Normal", "use_dropout": True, "activate_output": True,
                "dropout_structure": [0, 0.3, 0], "last_layer_dropout": False, "name": "relu_hn", "step": 3})
torch.save(relu_hn, os.path.join(OUT, "relu_hn.pt"))


def run_module(sd, x, mult):
    h, idx = x, 0
    for i in range(len(structure) - 1):
        h = torch.nn.functional.linear(h, sd[f"linear.{idx}.weight"], sd[f"linear.{idx}.bias"])
        h = torch.relu(h)
        idx += 2
        h = torch.nn.functional.layer_norm(h, (h.shape[-1],), sd[f"linear.{idx}.weight"], sd[f"linear.{idx}.bias"])
        idx += 1 + (1 if i == 0 else 0)
    return x + h * mult


ref = {}
for dim in (32, 16):
    x = rnd(2, 5, dim, scale=1.0)
    ref[f"x{dim}"] = x
    ref[f"k{dim}"] = run_module(relu_hn[dim][0], x, 0.6)
    ref[f"v{dim}"] = run_module(relu_hn[dim][1], x, 0.6)
write_st(os.path.join(OUT, "relu_hn.reference.safetensors"), ref)

# ------------------------------------------------------------------ embeddings (bundled model: vocab.json + its token table)

vocab = json.load(open(os.path.join(REPO, "models/tiny-shapes/tokenizer/vocab.json")))
te, _ = read_st(os.path.join(REPO, "models/tiny-shapes/text_encoder/model.safetensors"))
table = next(v for k, v in te.items() if k.endswith("token_embedding.weight")).float()
rows = table[[vocab["red</w>"], vocab["square</w>"]]]
torch.save({"string_to_token": {"*": 265}, "string_to_param": {"*": rows.clone()}, "name": "redsquare", "step": 100,
            "sd_checkpoint": None, "sd_checkpoint_name": None}, os.path.join(OUT, "redsquare.pt"))
write_st(os.path.join(OUT, "bluecircle.safetensors"), {"emb_params": table[[vocab["blue</w>"], vocab["circle</w>"]]].clone()})
write_st(os.path.join(OUT, "sdxl_emb.safetensors"), {"clip_l": rnd(3, 32), "clip_g": rnd(3, 32)})
write_st(os.path.join(OUT, "wrong_width.safetensors"), {"emb_params": rnd(1, 64)})
print("wrote", sorted(os.listdir(OUT)))
