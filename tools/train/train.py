"""Trains the bundled text-to-image model: the KL autoencoder first, then the UNet and the CLIP text encoder
together, on scenes drawn and rendered on the fly (dataset.py), and saves a diffusers folder with fp16 weights.

    PYTHONPATH=/path/to/diffusers/src python3 tools/train/train.py --out out/run --state-dir out/state \
        --vae-minutes 2 --unet-minutes 6 --total-minutes 8.6

Outputs under --out (a few MB besides the model):
  tokenizer/                 BPE merges learned from the caption grammar (tokenizer.py)
  model/                     the diffusers folder (fp16): model_index.json, unet/, vae/, text_encoder/, tokenizer/,
                             scheduler/ -- copy it to models/ to bundle it
  vae_recon.png              held-out scenes (rows 1, 3, ...) above their reconstructions
  heldout_grid.png, seen_grid.png, two_objects_grid.png   samples of the exported weights (captions in *_grid.txt)
  vae_loss.csv, unet_loss.csv, adherence.csv, loss.png, train.log, summary.json
and under --state-dir (default --out; about 125 MB):
  vae.pt                     the autoencoder after phase 1 (fp32) with its latent scaling factor
  state.pt                   UNet, text encoder, their EMA copies and the optimizer (--resume goes on from here)

Budgets are wall-clock minutes per phase (or exact step counts with --vae-steps/--unet-steps); --total-minutes
caps the whole run, counted from the process start, keeping --reserve-seconds for the export and the final
evaluation. Seeds are fixed, but a time budget makes the number of steps, and so the result, depend on the machine.
--smoke runs a few steps of everything on the CPU (under a minute) to check the script end to end.
"""
import time

PROCESS_START = time.time()  # --total-minutes counts from here, imports included

import argparse  # noqa: E402
import copy  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import adherence  # noqa: E402
import dataset  # noqa: E402
import model as M  # noqa: E402
import tokenizer as T  # noqa: E402

SIZE_LIMIT_BYTES = 25 * 1000 * 1000


# ------------------------------------------------------------------------------------------- small helpers

class Log:
    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8")
        self.start = PROCESS_START

    def __call__(self, message):
        line = f"[{time.time() - self.start:7.1f}s] {message}"
        print(line, flush=True)
        self.file.write(line + "\n")
        self.file.flush()


def optional(log, what, fn, *args, **kwargs):
    """Runs a step whose failure must not cost the trained weights (plots, grids, checks)."""
    try:
        return fn(*args, **kwargs)
    except Exception:
        log(f"{what} failed (continuing):\n{traceback.format_exc()}")
        return None


class Budget:
    """Ends a phase after `steps` steps if given, else after `seconds` of wall time; progress in [0, 1]."""

    def __init__(self, seconds, steps=None):
        self.seconds, self.steps, self.start = seconds, steps, time.time()

    def progress(self, step):
        if self.steps is not None:
            return min(1.0, step / max(1, self.steps))
        return min(1.0, (time.time() - self.start) / max(1e-9, self.seconds))

    def done(self, step):
        return step >= self.steps if self.steps is not None else time.time() - self.start >= self.seconds


def learning_rate(base, step, progress, warmup, floor=0.05):
    """Linear warm-up, then cosine decay (over the budget's progress) to `floor` x base."""
    return base * min(1.0, (step + 1) / warmup) * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def make_optimizer(params, lr, device):
    try:
        return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), weight_decay=0.01, fused=device.type == "cuda")
    except TypeError:  # older torch without fused AdamW
        return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), weight_decay=0.01)


def autocast(device):
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return torch.autocast(device_type="cpu", enabled=False)


def channels_last(x, device):
    return x.contiguous(memory_format=torch.channels_last) if device.type == "cuda" else x


def save_grid(path, images, columns=8):
    from PIL import Image
    n, h, w, _ = images.shape
    rows = (n + columns - 1) // columns
    grid = Image.new("RGB", (columns * w, rows * h), (128, 128, 128))
    for i, img in enumerate(images):
        grid.paste(Image.fromarray(img), ((i % columns) * w, (i // columns) * h))
    grid.save(path)


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def plot_losses(path, vae_rows, unet_rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, rows, title in ((axes[0], vae_rows, "VAE (L1 + L2 + KL)"), (axes[1], unet_rows, "UNet (eps MSE, min-SNR weighted)")):
        if rows:
            steps = [r[0] for r in rows]
            ax.plot(steps, [r[2] for r in rows])
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ------------------------------------------------------------------------------------------- data

class Data:
    """Scenes, captions and token ids drawn on the fly; images rendered on the training device."""

    def __init__(self, tokenizer, excluded, seed, device, empty_fraction=0.1):
        self.tokenizer, self.excluded, self.device = tokenizer, excluded, device
        self.rng = np.random.default_rng(seed)
        self.empty_fraction = empty_fraction
        self.empty_ids = tokenizer.encode_context("")

    def ids(self, caption):
        # Captions are lower-case words separated by single spaces, each word one piece of CLIP's pre-tokenizer.
        ids = [i for w in caption.split(" ") for i in self.tokenizer.word_ids(w)][: T.CONTEXT_LENGTH - 2]
        return [self.tokenizer.bos] + ids + [self.tokenizer.eos] * (T.CONTEXT_LENGTH - 1 - len(ids))

    def images(self, n):
        scenes = dataset.sample_scenes(self.rng, n, self.excluded)
        return dataset.render(scenes, device=self.device) * 2 - 1, scenes

    def batch(self, n):
        images, scenes = self.images(n)
        empty = self.rng.random(n) < self.empty_fraction
        ids = [self.empty_ids if e else self.ids(c) for e, c in zip(empty, scenes.captions())]
        return images, torch.tensor(ids, device=self.device)


def check_fast_ids(data, tokenizer):
    rng = np.random.default_rng(1)
    captions = dataset.sample_scenes(rng, 200, data.excluded).captions() + [p["prompt"] for p in dataset.heldout_set()]
    for c in captions:
        assert data.ids(c) == tokenizer.encode_context(c), c
        assert all(len(tokenizer.encode(w)) == 1 for w in c.split(" ")), f"a caption word is not one token: {c}"


def eval_sets(excluded, n_seen):
    """(name, prompts, seeds, expected attributes): the held-out prompts, and single-object training prompts."""
    heldout = dataset.heldout_set()
    scenes = dataset.sample_scenes(np.random.default_rng(123), n_seen, excluded, two_object_fraction=0.0,
                                   say_size_fraction=1.0)
    seen = [dict(prompt=c, color=dataset.COLORS[scenes.color[i, 0]], shape=dataset.SHAPES[scenes.shape[i, 0]],
                 position=dataset.POSITION_PHRASES[scenes.position[i, 0]],
                 background=dataset.COLORS[scenes.background[i]], seed=2000 + i)
            for i, c in enumerate(scenes.captions())]
    return [("heldout", heldout), ("seen", seen)]


def score_images(images_uint8, expected):
    judgements = [adherence.judge(adherence.score(img, dataset.PALETTE, dataset.POSITIONS), e)
                  for img, e in zip(images_uint8, expected)]
    return adherence.summarize(judgements)


# ------------------------------------------------------------------------------------------- phase 1: VAE

def train_vae(args, device, data, log):
    vae = M.build_vae().to(device)
    vae = vae.to(memory_format=torch.channels_last) if device.type == "cuda" else vae
    log(f"VAE: {M.parameter_count(vae) / 1e6:.2f} M parameters, batch {args.vae_batch}, lr {args.vae_lr}")
    opt = make_optimizer(vae.parameters(), args.vae_lr, device)
    budget = Budget(args.vae_minutes * 60, args.vae_steps)
    pixels = 3 * dataset.IMAGE_SIZE ** 2
    rows, running, step, t0 = [], torch.zeros((), device=device), 0, time.time()
    good, good_step = copy.deepcopy(vae.state_dict()), 0  # restored if the loss ever turns non-finite
    vae.train()
    while not budget.done(step):
        for g in opt.param_groups:
            g["lr"] = learning_rate(args.vae_lr, step, budget.progress(step), args.vae_warmup)
        x, _ = data.images(args.vae_batch)
        x = channels_last(x, device)
        with autocast(device):
            posterior = vae.encode(x).latent_dist
            rec = vae.decode(posterior.sample()).sample.float()
        l1 = (rec - x).abs().mean()
        l2 = ((rec - x) ** 2).mean()
        kl = posterior.kl().float().mean() / pixels  # SD's 1e-6 weight is on the sum over pixels
        loss = l1 + l2 + args.kl_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        running += loss.detach()
        step += 1
        if step % args.log_every == 0 or budget.done(step):
            k = step % args.log_every or args.log_every
            avg = (running / k).item()
            running.zero_()
            if not math.isfinite(avg):
                log(f"vae step {step}: loss {avg}; back to the weights of step {good_step} and on to the next phase "
                    f"(try a lower --vae-lr)")
                vae.load_state_dict(good)
                break
            good, good_step = copy.deepcopy(vae.state_dict()), step
            rows.append((step, round(time.time() - t0, 2), avg, opt.param_groups[0]["lr"]))
            log(f"vae step {step:6d}  loss {avg:.5f}  lr {opt.param_groups[0]['lr']:.2e}  "
                f"{step * args.vae_batch / (time.time() - t0):7.0f} img/s")
    vae.eval()
    log(f"VAE trained: {step} steps in {time.time() - t0:.0f} s")
    return vae, rows


@torch.no_grad()
def latent_scaling(vae, data, device, n):
    """1 / std of the latents, as SD's 0.18215 was found."""
    zs = []
    for _ in range(max(1, n // 256)):
        x, _ = data.images(min(256, n))
        with autocast(device):
            zs.append(vae.encode(channels_last(x, device)).latent_dist.sample().float())
    z = torch.cat(zs)
    return float(1.0 / z.std()), float(z.mean()), float(z.std())


@torch.no_grad()
def vae_report(args, vae, device, log):
    """Reconstructs the held-out scenes (exact renders) and scores the reconstructions: the ceiling adherence
    the decoder allows."""
    prompts = dataset.heldout_set()[: args.eval_count]
    scenes = [dataset.scene_for(p["color"], p["shape"], p["position"], p["size"], p["background"]) for p in prompts]
    x = torch.cat([dataset.render(s, device=device) for s in scenes]) * 2 - 1
    with autocast(device):
        rec = vae.decode(vae.encode(channels_last(x, device)).latent_dist.mode()).sample.float()
    original, decoded = dataset.to_uint8((x + 1) / 2), dataset.to_uint8((rec + 1) / 2)
    rates, text = score_images(decoded, prompts)
    log("VAE reconstruction adherence (held-out scenes):\n" + text)
    err = np.abs(original.astype(np.int32) - decoded.astype(np.int32))
    log(f"VAE reconstruction: mean |error| {err.mean():.2f}/255, 99th percentile {np.percentile(err, 99):.0f}/255")
    rows = []
    for i in range(0, len(prompts), 8):
        rows += [original[i:i + 8], decoded[i:i + 8]]
    optional(log, "vae_recon.png", save_grid, os.path.join(args.out, "vae_recon.png"), np.concatenate(rows))
    return rates


# ------------------------------------------------------------------------------------------- phase 2: UNet + text

@torch.no_grad()
def ema_update(ema_params, params, decay):
    torch._foreach_mul_(ema_params, decay)
    torch._foreach_add_(ema_params, params, alpha=1 - decay)


@torch.no_grad()
def sample_eval(args, nets, tokenizer, device, sets, log, step=None, save_dir=None, steps=20, guidance=None):
    unet, text_encoder, vae = nets
    guidance = args.cfg if guidance is None else guidance
    results = {}
    for name, expected in sets:
        images = []
        for i in range(0, len(expected), args.eval_batch):
            chunk = expected[i:i + args.eval_batch]
            images.append(M.ddim_sample(unet, text_encoder, vae, tokenizer, [e["prompt"] for e in chunk],
                                        [e["seed"] for e in chunk], steps=steps, guidance=guidance, device=device,
                                        autocast_dtype=torch.bfloat16 if device.type == "cuda" else None))
        images = dataset.to_uint8(torch.cat(images))
        rates, text = score_images(images, expected)
        results[name] = rates
        log(f"adherence on {name} prompts{'' if step is None else f' at step {step}'} "
            f"({len(expected)} prompts, DDIM {steps}, CFG {guidance}):\n{text}")
        if save_dir:
            optional(log, f"{name} grid", save_grid, os.path.join(save_dir, f"{name}_grid.png"), images)
            with open(os.path.join(save_dir, f"{name}_grid.txt"), "w") as f:
                f.writelines(f"{i}\t{e['prompt']}\n" for i, e in enumerate(expected))
    return results


def train_unet(args, device, data, vae, tokenizer, log, init=None):
    state_path = os.path.join(args.state_dir, "state.pt")
    unet, text_encoder = M.build_unet(), M.build_text_encoder(tokenizer)
    resumed = None
    if args.resume and os.path.exists(state_path):
        resumed = torch.load(state_path, map_location="cpu")
        unet.load_state_dict(resumed["unet"])
        M.load_text_encoder_state(text_encoder, resumed["text_encoder"])
        log(f"resumed UNet/text encoder from {state_path} (step {resumed['step']})")
    elif init is not None:
        unet.load_state_dict(init[0].state_dict())
        M.load_text_encoder_state(text_encoder, init[1].state_dict())
        log("UNet/text encoder initialised from --init-from")
    unet.to(device).train()
    text_encoder.to(device).train()
    if device.type == "cuda":
        unet = unet.to(memory_format=torch.channels_last)
    ema_unet, ema_text = copy.deepcopy(unet).eval(), copy.deepcopy(text_encoder).eval()
    if resumed is not None:
        ema_unet.load_state_dict(resumed["ema_unet"])
        M.load_text_encoder_state(ema_text, resumed["ema_text_encoder"])
    for p in list(ema_unet.parameters()) + list(ema_text.parameters()):
        p.requires_grad_(False)
    params = list(unet.parameters()) + list(text_encoder.parameters())
    ema_params = list(ema_unet.parameters()) + list(ema_text.parameters())
    opt = make_optimizer(params, args.unet_lr, device)
    if resumed is not None:
        opt.load_state_dict(resumed["optimizer"])
    step0 = resumed["step"] if resumed is not None else 0
    log(f"UNet: {M.parameter_count(unet) / 1e6:.2f} M parameters; text encoder: "
        f"{M.parameter_count(text_encoder) / 1e6:.2f} M; batch {args.unet_batch}, lr {args.unet_lr}")

    seconds = args.unet_minutes * 60
    if args.total_minutes:
        left = args.total_minutes * 60 - (time.time() - log.start) - args.reserve_seconds
        if left < seconds:
            log(f"UNet budget cut to {max(left, 0):.0f} s to end within --total-minutes {args.total_minutes}")
            seconds = max(left, 10)
    budget = Budget(seconds, args.unet_steps)
    ac = M.alphas_cumprod(device)
    snr = ac / (1 - ac)
    weight = (snr.clamp(max=args.min_snr) / snr) if args.min_snr > 0 else torch.ones_like(snr)
    sets = eval_sets(data.excluded, args.eval_count)
    sets = [(n, e[: args.eval_count]) for n, e in sets]
    rows, evals, running = [], [], torch.zeros((), device=device)
    step, t0, next_eval = 0, time.time(), time.time() + args.eval_every
    good, good_step = (copy.deepcopy(ema_unet.state_dict()), copy.deepcopy(ema_text.state_dict())), step0
    while not budget.done(step):
        for g in opt.param_groups:
            g["lr"] = learning_rate(args.unet_lr, step, budget.progress(step), args.unet_warmup)
        images, ids = data.batch(args.unet_batch)
        with torch.no_grad(), autocast(device):
            latents = vae.encode(channels_last(images, device)).latent_dist.sample().float() * vae.config.scaling_factor
        noise = torch.randn_like(latents)
        t = torch.randint(0, M.NUM_TRAIN_TIMESTEPS, (latents.shape[0],), device=device)
        a = ac[t].view(-1, 1, 1, 1)
        noisy = channels_last(a.sqrt() * latents + (1 - a).sqrt() * noise, device)
        with autocast(device):
            context = M.encode_text(text_encoder, ids)
            pred = unet(noisy, t, encoder_hidden_states=context).sample.float()
        loss = (((pred - noise) ** 2).mean(dim=(1, 2, 3)) * weight[t]).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        total_step = step0 + step
        ema_update(ema_params, params, min(args.ema, (1 + total_step) / (10 + total_step)))
        running += loss.detach()
        step += 1
        if step % args.log_every == 0 or budget.done(step):
            k = step % args.log_every or args.log_every
            avg = (running / k).item()
            running.zero_()
            if not math.isfinite(avg):
                log(f"unet step {step0 + step}: loss {avg}; back to the EMA weights of step {good_step} and on to "
                    f"the export (try a lower --unet-lr)")
                ema_unet.load_state_dict(good[0])
                ema_text.load_state_dict(good[1])
                break
            good, good_step = (copy.deepcopy(ema_unet.state_dict()), copy.deepcopy(ema_text.state_dict())), step0 + step
            rows.append((step0 + step, round(time.time() - t0, 2), avg, opt.param_groups[0]["lr"]))
            log(f"unet step {step0 + step:6d}  loss {avg:.5f}  lr {opt.param_groups[0]['lr']:.2e}  "
                f"{step * args.unet_batch / (time.time() - t0):7.0f} samples/s")
        if args.eval_every > 0 and time.time() >= next_eval and not budget.done(step):
            res = optional(log, "adherence check", sample_eval, args, (ema_unet, ema_text, vae), tokenizer, device,
                           sets, log, step=step0 + step)
            if res:
                evals.append((step0 + step, round(time.time() - t0, 1), res))
            next_eval = time.time() + args.eval_every
    log(f"UNet trained: {step} steps in {time.time() - t0:.0f} s (total step {step0 + step})")
    state = {"unet": unet.state_dict(), "text_encoder": text_encoder.state_dict(), "ema_unet": ema_unet.state_dict(),
             "ema_text_encoder": ema_text.state_dict(), "optimizer": opt.state_dict(), "step": step0 + step}
    optional(log, "state.pt", torch.save, state, state_path)
    return ema_unet, ema_text, rows, evals, sets


# ------------------------------------------------------------------------------------------- export

def export(args, unet, text_encoder, vae, tokenizer, log):
    import diffusers
    folder = os.path.join(args.out, "model")
    M.save_diffusers_folder(folder, unet, vae, text_encoder, tokenizer, diffusers.__version__)
    size = M.folder_size(folder)
    log(f"exported {folder}: {size / 1e6:.2f} MB{'' if size <= SIZE_LIMIT_BYTES else '  -- OVER THE 25 MB LIMIT'}")
    return folder, size


def check_export(folder, unet, text_encoder, vae, tokenizer, log):
    """Reads the folder back with the same classes; every weight must be the fp16 value of the trained one.
    Returns the reloaded (unet, text_encoder, vae): what ships."""
    r_unet, r_vae, r_text, r_tok = M.load_diffusers_folder(folder)
    for name, trained, loaded in (("unet", unet, r_unet), ("vae", vae, r_vae), ("text_encoder", text_encoder, r_text)):
        a, b = M.fp16_state(trained), M.fp16_state(loaded)
        assert set(a) == set(b), f"{name}: reloaded keys differ: {sorted(set(a) ^ set(b))[:5]}"
        bad = [k for k in a if not torch.equal(a[k], b[k])]
        assert not bad, f"{name}: reloaded weights differ: {bad[:5]}"
    assert r_tok.vocab == tokenizer.vocab and r_tok.merges == tokenizer.merges
    assert abs(r_vae.config.scaling_factor - vae.config.scaling_factor) < 1e-12
    log("export check: every reloaded weight equals the fp16 value of the trained one")
    return r_unet, r_text, r_vae


def cpu_timing(nets, tokenizer, log):
    """Wall and CPU seconds of one 20-step guided generation in PyTorch on 1 and 2 CPU threads (an indication only:
    on a busy machine, OpenMP threads spin and the 2-thread figures inflate)."""
    unet, text_encoder, vae = (copy.deepcopy(n).float().cpu().eval() for n in nets)
    old = torch.get_num_threads()
    result = {}
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            M.ddim_sample(unet, text_encoder, vae, tokenizer, ["a red circle"], [0], steps=2)
            wall, cpu = time.time(), time.process_time()
            M.ddim_sample(unet, text_encoder, vae, tokenizer, ["a large red circle on the left on a blue background"], [0], steps=20)
            result[threads] = dict(wall=time.time() - wall, cpu=time.process_time() - cpu)
            log(f"PyTorch CPU, {threads} thread(s): one 20-step guided generation at {dataset.IMAGE_SIZE}px: "
                f"{result[threads]['wall']:.2f} s wall, {result[threads]['cpu']:.2f} s CPU")
    finally:
        torch.set_num_threads(old)
    return result


# ------------------------------------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="out/train")
    p.add_argument("--state-dir", default=None, help="where vae.pt and state.pt (~125 MB) go; default --out")
    p.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vae-minutes", type=float, default=2.0)
    p.add_argument("--unet-minutes", type=float, default=6.0)
    p.add_argument("--vae-steps", type=int, default=None, help="exact step count instead of --vae-minutes")
    p.add_argument("--unet-steps", type=int, default=None, help="exact step count instead of --unet-minutes")
    p.add_argument("--total-minutes", type=float, default=None, help="cap on the whole run (the UNet phase is cut)")
    p.add_argument("--reserve-seconds", type=float, default=75, help="kept for export and evaluation under --total-minutes")
    p.add_argument("--vae-batch", type=int, default=64)
    p.add_argument("--vae-lr", type=float, default=3e-4)
    p.add_argument("--vae-warmup", type=int, default=200)
    p.add_argument("--kl-weight", type=float, default=1e-6, help="on the KL sum, relative to the per-pixel sum (SD's)")
    p.add_argument("--unet-batch", type=int, default=256)
    p.add_argument("--unet-lr", type=float, default=4e-4)
    p.add_argument("--unet-warmup", type=int, default=300)
    p.add_argument("--min-snr", type=float, default=5.0, help="min-SNR loss weighting gamma (0: plain MSE)")
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--empty-fraction", type=float, default=0.1, help="captions dropped for classifier-free guidance")
    p.add_argument("--cfg", type=float, default=7.0, help="guidance scale of the evaluation samples")
    p.add_argument("--cfg-sweep", type=lambda v: [float(x) for x in v.split(",")], default=[3.0, 5.0, 9.0],
                   help="other guidance scales the final held-out evaluation also tries")
    p.add_argument("--eval-every", type=float, default=90, help="seconds between adherence checks (0: none)")
    p.add_argument("--eval-count", type=int, default=64)
    p.add_argument("--eval-batch", type=int, default=64)
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--resume", action="store_true", help="skip a trained VAE (vae.pt) and continue state.pt")
    p.add_argument("--init-from", default=None, help="a diffusers folder to start from (its VAE is kept)")
    p.add_argument("--smoke", action="store_true", help="a few steps of everything on the CPU")
    args = p.parse_args(argv)
    args.state_dir = args.state_dir or args.out
    if args.smoke:
        args.device = args.device or "cpu"
        args.vae_steps, args.unet_steps = args.vae_steps or 3, args.unet_steps or 3
        args.vae_batch, args.unet_batch, args.eval_count, args.eval_batch = 2, 4, 4, 4
        args.log_every, args.eval_every = 1, 0.5  # one or two periodic checks
        args.unet_warmup = args.vae_warmup = 1
    return args


def main(argv):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.state_dir, exist_ok=True)
    log = Log(os.path.join(args.out, "train.log"))
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    log(f"train.py {' '.join(argv)}")
    log(f"torch {torch.__version__}, device {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    torch.manual_seed(args.seed)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True

    tokenizer = T.learn_tokenizer()
    tokenizer.save(os.path.join(args.out, "tokenizer"))
    log(f"tokenizer: {len(tokenizer.merges)} merges, {len(tokenizer.vocab)} tokens")
    heldout = dataset.load_heldout()
    excluded = dataset.heldout_keys(heldout)
    data = Data(tokenizer, excluded, args.seed, device, args.empty_fraction)
    check_fast_ids(data, tokenizer)
    summary = {"args": vars(args), "torch": torch.__version__, "device": str(device)}

    # ---- phase 1: the autoencoder
    vae_path = os.path.join(args.state_dir, "vae.pt")
    init = M.load_diffusers_folder(args.init_from, device) if args.init_from else None
    vae_rows = []
    if init is not None:
        assert init[3].vocab == tokenizer.vocab and init[3].merges == tokenizer.merges, \
            f"{args.init_from}: its tokenizer is not the one the grammar gives"
        vae = init[1]
        log(f"VAE from {args.init_from} (scaling factor {vae.config.scaling_factor:.5f})")
    elif args.resume and os.path.exists(vae_path):
        saved = torch.load(vae_path, map_location="cpu")
        vae = M.build_vae()
        vae.load_state_dict(saved["state"])
        vae.register_to_config(scaling_factor=saved["scaling_factor"])
        vae.to(device).eval()
        log(f"VAE from {vae_path} (scaling factor {saved['scaling_factor']:.5f})")
    else:
        vae, vae_rows = train_vae(args, device, data, log)
        write_csv(os.path.join(args.out, "vae_loss.csv"), ["step", "seconds", "loss", "lr"], vae_rows)
        scale, mean, std = latent_scaling(vae, data, device, 8 if args.smoke else 4096)
        vae.register_to_config(scaling_factor=scale)
        log(f"latents: mean {mean:.4f}, std {std:.4f} -> scaling factor {scale:.5f}")
        torch.save({"state": vae.state_dict(), "scaling_factor": scale}, vae_path)
    for p in vae.parameters():
        p.requires_grad_(False)
    summary["vae_reconstruction_adherence"] = optional(log, "VAE report", vae_report, args, vae, device, log)

    # ---- phase 2: UNet and text encoder
    unet, text_encoder, unet_rows, evals, sets = train_unet(
        args, device, data, vae, tokenizer, log, init=(init[0], init[2]) if init is not None else None)
    write_csv(os.path.join(args.out, "unet_loss.csv"), ["step", "seconds", "loss", "lr"], unet_rows)
    write_csv(os.path.join(args.out, "adherence.csv"), ["step", "seconds", "set", "color", "background", "position", "shape"],
              [(s, sec, name, *(r[k] for k in ("color", "background", "position", "shape")))
               for s, sec, res in evals for name, r in res.items()])
    optional(log, "loss.png", plot_losses, os.path.join(args.out, "loss.png"), vae_rows, unet_rows)

    # ---- export, read back, evaluate what ships
    folder, size = export(args, unet, text_encoder, vae, tokenizer, log)
    summary.update(model_folder=folder, model_bytes=size,
                   parameters={"unet": M.parameter_count(unet), "vae": M.parameter_count(vae),
                               "text_encoder": M.parameter_count(text_encoder)})
    shipped = optional(log, "export check", check_export, folder, unet, text_encoder, vae, tokenizer, log)
    summary["export_check"] = shipped is not None
    if shipped is None:
        log("evaluating the trained weights in memory instead of the exported folder")
        shipped = (unet, text_encoder, vae)
    r_unet, r_text, r_vae = (n.to(device) for n in shipped)
    summary["adherence"] = optional(log, "final adherence", sample_eval, args, (r_unet, r_text, r_vae), tokenizer,
                                    device, sets, log, save_dir=args.out, steps=2 if args.smoke else 20)
    if not args.smoke:
        summary["heldout_adherence_by_cfg"] = {
            g: optional(log, f"adherence at CFG {g}", sample_eval, args, (r_unet, r_text, r_vae), tokenizer, device,
                        sets[:1], log, guidance=g) for g in args.cfg_sweep if g != args.cfg}
    two = dataset.sample_scenes(np.random.default_rng(7), 16, excluded, two_object_fraction=1.0, say_size_fraction=1.0)
    two_set = [dict(prompt=c, seed=3000 + i) for i, c in enumerate(two.captions())]
    optional(log, "two-object samples", lambda: (
        save_grid(os.path.join(args.out, "two_objects_grid.png"), dataset.to_uint8(M.ddim_sample(
            r_unet, r_text, r_vae, tokenizer, [e["prompt"] for e in two_set], [e["seed"] for e in two_set],
            steps=2 if args.smoke else 20, guidance=args.cfg, device=device,
            autocast_dtype=torch.bfloat16 if device.type == "cuda" else None))),
        open(os.path.join(args.out, "two_objects_grid.txt"), "w").writelines(
            f"{i}\t{e['prompt']}\n" for i, e in enumerate(two_set))))
    flops = optional(log, "FLOP count", lambda: M.flops_report(*(copy.deepcopy(n).float().cpu() for n in (r_unet, r_vae, r_text)), tokenizer))
    if flops:
        log("FLOPs: " + ", ".join(f"{k} {v / 1e9:.2f} G" if k != "steps" else f"{k} {v}" for k, v in flops.items()))
    summary["flops"] = flops
    summary["torch_cpu_seconds"] = optional(log, "CPU timing", cpu_timing, (r_unet, r_text, r_vae), tokenizer, log)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, default=str)
    log(f"done: {folder} ({size / 1e6:.2f} MB); summary.json, loss.png, grids in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
