"""Reference schedules, Brownian noise and sampler outputs from AUTOMATIC1111 1.10.1's own code, for
tests/SdSharp.Tests/Sampling.

Runs the real k-diffusion (commit ab527a9a, the version A1111 pins), torchsde 0.2.6 and A1111's
sd_schedulers.py, sd_samplers_timesteps_impl.py, sd_samplers_lcm.py, sd_samplers_extra.py, rng.py and
models/diffusion/uni_pc on CPU with torch's CPU generator (A1111 "--rng cpu"). A1111's modules that pull in the
whole web UI (shared, devices, the CFG denoiser) are replaced by the few attributes these files read; the
network is an analytic stand-in whose exact x0 is known: data ~ N(mu, s^2) per element, so
D(x, sigma) = (s^2 x + sigma^2 mu) / (s^2 + sigma^2). The stand-in sees what a UNet sees (the scaled input and
the timestep) and returns eps or v, so the wrappers' scalings and sigma <-> t maps are exercised too.

Usage:
  python3 make_sampler_fixtures.py --kdiffusion K_DIFFUSION_DIR --torchsde TORCHSDE_DIR \
      --a1111 WEBUI_DIR [--pylib DIR_WITH_TRAMPOLINE] OUT.json
Needs torch, numpy, scipy, tqdm and trampoline (torchsde's dependency). Made with torch 1.13 (Debian), whose
CPU randn matches torch 2.x bit for bit.
"""
import argparse, importlib.util, inspect, json, math, sys, types

import numpy as np
import torch

ap = argparse.ArgumentParser()
ap.add_argument("--kdiffusion", required=True)
ap.add_argument("--torchsde", required=True)
ap.add_argument("--a1111", required=True)
ap.add_argument("--pylib", action="append", default=[])
ap.add_argument("out")
args = ap.parse_args()
sys.path[:0] = args.pylib + [args.torchsde]


def stub(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    sys.modules[name] = m
    spec.loader.exec_module(m)
    return m


# k-diffusion's package __init__ imports its training code; the samplers need only these three modules.
# torchdiffeq (log_likelihood) and torchvision (image helpers) are imported but never used here.
for missing in ["torchdiffeq", "torchvision", "torchvision.transforms", "torchvision.transforms.functional"]:
    try:
        importlib.import_module(missing)
    except ImportError:
        stub(missing, odeint=None)
kd = stub("k_diffusion")
kd.__path__ = [args.kdiffusion + "/k_diffusion"]
kd.utils = load("k_diffusion.utils", args.kdiffusion + "/k_diffusion/utils.py")
kd.sampling = load("k_diffusion.sampling", args.kdiffusion + "/k_diffusion/sampling.py")
kd.external = load("k_diffusion.external", args.kdiffusion + "/k_diffusion/external.py")
import torchsde._brownian.brownian_interval as brownian_interval

# ---- A1111 1.10.1 modules, with shared/devices reduced to what they read ----
A = args.a1111 + "/modules"
opts = types.SimpleNamespace(randn_source="CPU", eta_noise_seed_delta=0, beta_dist_alpha=0.6, beta_dist_beta=0.6,
                             uni_pc_variant="bh1", uni_pc_skip_type="time_uniform", uni_pc_order=3,
                             uni_pc_lower_order_final=True)
sd_model = types.SimpleNamespace(is_sdxl=False, device=torch.device("cpu"))
modules = stub("modules")
modules.__path__ = [A]
shared = stub("modules.shared", opts=opts, sd_model=sd_model, device=torch.device("cpu"))
devices = stub("modules.devices", cpu=torch.device("cpu"), device=torch.device("cpu"))
modules.shared, modules.devices = shared, devices
load("modules.rng_philox", A + "/rng_philox.py")
rng = load("modules.rng", A + "/rng.py")
load("modules.torch_utils", A + "/torch_utils.py")
for pkg in ["modules.models", "modules.models.diffusion", "modules.models.diffusion.uni_pc"]:
    stub(pkg).__path__ = []
uni_pc = load("modules.models.diffusion.uni_pc.uni_pc", A + "/models/diffusion/uni_pc/uni_pc.py")
sys.modules["modules.models.diffusion.uni_pc"].uni_pc = uni_pc
sd_schedulers = load("modules.sd_schedulers", A + "/sd_schedulers.py")
timesteps_impl = load("modules.sd_samplers_timesteps_impl", A + "/sd_samplers_timesteps_impl.py")
extra = load("modules.sd_samplers_extra", A + "/sd_samplers_extra.py")
# sd_samplers_lcm subclasses the web UI's sampler classes at import; only its denoiser and sampler are used.
stub("modules.sd_samplers_cfg_denoiser", CFGDenoiser=object)
stub("modules.sd_samplers_kdiffusion", KDiffusionSampler=object)
stub("modules.sd_samplers_common", SamplerData=lambda *a: a)
lcm = load("modules.sd_samplers_lcm", A + "/sd_samplers_lcm.py")


# sd_samplers_common.replace_torchsde_browinan: Brownian-tree noise comes from randn_local(seed, size)
def torchsde_randn(size, dtype, device, seed):
    return devices.randn_local(seed, size).to(device=device, dtype=dtype)


brownian_interval._randn = torchsde_randn


class TorchHijack:
    """sd_samplers_common.TorchHijack: every randn_like in the samplers is the next draw of p.rng."""

    def __init__(self, image_rng):
        self.rng = image_rng

    def __getattr__(self, item):
        if item == "randn_like":
            return lambda x: self.rng.next()
        return getattr(torch, item)


# ---- the model: SD's schedule as ldm registers it (float64 cumprod, stored float32) ----
betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
alphas_cumprod = torch.tensor(np.cumprod(1.0 - betas.numpy(), axis=0), dtype=torch.float32)

SHAPE = (4, 6, 5)
S2 = 1.3 ** 2
MU = torch.tensor([math.sin(0.7 * i + 0.3) * 0.8 for i in range(int(np.prod(SHAPE)))], dtype=torch.float32).reshape(SHAPE)
INIT = torch.tensor([math.cos(0.37 * i) * 0.9 for i in range(int(np.prod(SHAPE)))], dtype=torch.float32).reshape(SHAPE)


class FakeSD:
    """The network: from its input and (fractional) timestep, eps or v of the analytic data distribution."""

    def __init__(self, prediction):
        self.alphas_cumprod = alphas_cumprod
        self.parameterization = prediction
        self.device = torch.device("cpu")
        self.table = kd.external.DiscreteSchedule(((1 - alphas_cumprod) / alphas_cumprod) ** 0.5, False)

    def apply_model(self, x_in, t, cond=None, **kwargs):
        sigma = self.table.t_to_sigma(torch.as_tensor(t).reshape(-1).expand(x_in.shape[0]))[:, None, None, None]
        c = (sigma ** 2 + 1) ** 0.5
        x = x_in * c
        d = (S2 * x + sigma ** 2 * MU) / (S2 + sigma ** 2)
        eps = (x - d) / sigma
        if self.parameterization == "v":
            return eps / c - sigma / c * d
        return eps


class TimestepsModel:
    """What A1111's timestep samplers call: model(x, t) -> eps (CompVisTimesteps(V)Denoiser), with the
    model.inner_model.inner_model.alphas_cumprod path they read the schedule from."""

    def __init__(self, fake):
        self.fake = fake
        self.inner_model = types.SimpleNamespace(inner_model=fake)

    def __call__(self, x, t, **kwargs):
        out = self.fake.apply_model(x, t)
        if self.fake.parameterization == "v":  # CompVisTimestepsVDenoiser.predict_eps_from_z_and_v
            ti = torch.as_tensor(t).to(torch.int).long()  # torch 1.13 indexes with int64 only
            a = torch.sqrt(alphas_cumprod)[ti, None, None, None]
            b = torch.sqrt(1 - alphas_cumprod)[ti, None, None, None]
            return a * out + b * x
        return out


def f32(values):
    return [float("%.9g" % v) for v in torch.as_tensor(values, dtype=torch.float32).reshape(-1).tolist()]


def model_wrap_for(name, fake):
    if name == "LCM":
        return lcm.LCMCompVisDenoiser(fake)
    return kd.external.CompVisVDenoiser(fake) if fake.parameterization == "v" else kd.external.CompVisDenoiser(fake)


# A1111 1.10.1 samplers: k-diffusion function, default schedule, options (sd_samplers_kdiffusion.py)
K_SAMPLERS = {
    "DPM++ 2M": ("sample_dpmpp_2m", "karras", {}),
    "DPM++ SDE": ("sample_dpmpp_sde", "karras", {"brownian_noise": True}),
    "DPM++ 2M SDE": ("sample_dpmpp_2m_sde", "exponential", {"brownian_noise": True}),
    "DPM++ 2M SDE Heun": ("sample_dpmpp_2m_sde", "exponential", {"brownian_noise": True, "solver_type": "heun"}),
    "DPM++ 2S a": ("sample_dpmpp_2s_ancestral", "karras", {}),
    "DPM++ 3M SDE": ("sample_dpmpp_3m_sde", "exponential", {"discard_next_to_last_sigma": True, "brownian_noise": True}),
    "Euler a": ("sample_euler_ancestral", None, {}),
    "Euler": ("sample_euler", None, {}),
    "LMS": ("sample_lms", None, {}),
    "Heun": ("sample_heun", None, {}),
    "DPM2": ("sample_dpm_2", "karras", {"discard_next_to_last_sigma": True}),
    "DPM2 a": ("sample_dpm_2_ancestral", "karras", {"discard_next_to_last_sigma": True}),
    "Restart": (extra.restart_sampler, "karras", {}),
    "LCM": (lcm.sample_lcm, None, {}),
}
EXTRA_PARAMS = {  # sampler_extra_params
    "sample_euler": ["s_churn", "s_tmin", "s_tmax", "s_noise"],
    "sample_heun": ["s_churn", "s_tmin", "s_tmax", "s_noise"],
    "sample_dpm_2": ["s_churn", "s_tmin", "s_tmax", "s_noise"],
    "sample_dpm_2_ancestral": ["s_noise"],
    "sample_dpmpp_2s_ancestral": ["s_noise"],
    "sample_dpmpp_sde": ["s_noise"],
    "sample_dpmpp_2m_sde": ["s_noise"],
    "sample_dpmpp_3m_sde": ["s_noise"],
}
TIMESTEP_SAMPLERS = {"DDIM": timesteps_impl.ddim, "PLMS": timesteps_impl.plms, "UniPC": timesteps_impl.unipc}


def get_sigmas(model_wrap, sampler_default, options, scheduler_label, steps):
    """KDiffusionSampler.get_sigmas with A1111's default options."""
    discard = options.get("discard_next_to_last_sigma", False)
    steps += 1 if discard else 0
    name = scheduler_label or "Automatic"
    if name == "Automatic":
        name = sampler_default
    scheduler = sd_schedulers.schedulers_map.get(name)
    if scheduler is None or scheduler.function is None:
        sigmas = model_wrap.get_sigmas(steps)
    else:
        kwargs = {"sigma_min": model_wrap.sigmas[0].item(), "sigma_max": model_wrap.sigmas[-1].item()}
        if scheduler.need_inner_model:
            kwargs["inner_model"] = model_wrap
        sigmas = scheduler.function(n=steps, **kwargs, device=torch.device("cpu"))
    if discard:
        sigmas = torch.cat([sigmas[:-2], sigmas[-1:]])
    return sigmas.cpu()


def setup_img2img_steps(steps, strength, fix_steps):
    if fix_steps:
        return int(steps / min(strength, 0.999)) if strength > 0 else 0, steps - 1
    return steps, int(min(strength, 0.999) * steps)


def run_case(case):
    name, steps = case["sampler"], case["steps"]
    opts.randn_source = case.get("rng", "CPU")
    fake = FakeSD(case.get("prediction", "eps"))
    seeds = case["seeds"]
    p_rng = rng.ImageRNG(SHAPE, seeds)
    kd.sampling.torch = TorchHijack(p_rng)
    noise = p_rng.next()
    init = torch.stack([INIT] * len(seeds)) if "strength" in case else None
    eta = case.get("eta")

    if name in TIMESTEP_SAMPLERS:
        func = TIMESTEP_SAMPLERS[name]
        model = TimestepsModel(fake)
        kwargs = {"extra_args": {}, "callback": lambda d: None, "disable": True}
        if "eta" in inspect.signature(func).parameters:
            kwargs["eta"] = 0.0 if eta is None else eta
        if init is None:
            ts = torch.clip(torch.asarray(list(range(0, 1000, 1000 // steps))) + 1, 0, 999)
            x = noise
        else:  # CompVisSampler.sample_img2img
            total, t_enc = setup_img2img_steps(steps, case["strength"], case.get("fix_steps", False))
            all_ts = torch.clip(torch.asarray(list(range(0, 1000, 1000 // total))) + 1, 0, 999)
            ts = all_ts[:t_enc]
            x = init * torch.sqrt(alphas_cumprod[all_ts[t_enc]]) + noise * torch.sqrt(1 - alphas_cumprod[all_ts[t_enc]])
            if "is_img2img" in inspect.signature(func).parameters:
                kwargs["is_img2img"] = True
        return func(model, x, ts, **kwargs), None

    funcname, default, options = K_SAMPLERS[name]
    func = funcname if callable(funcname) else getattr(kd.sampling, funcname)
    model_wrap = model_wrap_for(name, fake)
    params = inspect.signature(func).parameters
    if init is None:
        sigmas = get_sigmas(model_wrap, default, options, case.get("schedule"), steps)
        sched, full = sigmas, sigmas
        x = noise * sigmas[0]
    else:  # KDiffusionSampler.sample_img2img
        total, t_enc = setup_img2img_steps(steps, case["strength"], case.get("fix_steps", False))
        full = get_sigmas(model_wrap, default, options, case.get("schedule"), total)
        sched = full[total - t_enc - 1:]
        x = init + noise * sched[0]
    kwargs = {"extra_args": {"cond": None}, "disable": True}
    fname = funcname if isinstance(funcname, str) else ""
    for param in EXTRA_PARAMS.get(fname, []):
        if param in case:
            kwargs[param] = case[param]
    if "eta" in params:
        kwargs["eta"] = 1.0 if eta is None else eta
    if options.get("brownian_noise"):
        sigma_min, sigma_max = full[full > 0].min(), full.max()
        kwargs["noise_sampler"] = kd.sampling.BrownianTreeNoiseSampler(x, sigma_min, sigma_max, seed=seeds)
    if options.get("solver_type") == "heun":
        kwargs["solver_type"] = "heun"
    return func(model_wrap, x, sigmas=sched, **kwargs), sched


def sampler_cases():
    cases = []
    every = ["DPM++ 2M", "DPM++ SDE", "DPM++ 2M SDE", "DPM++ 2M SDE Heun", "DPM++ 2S a", "DPM++ 3M SDE", "Euler a",
             "Euler", "LMS", "Heun", "DPM2", "DPM2 a", "Restart", "DDIM", "PLMS", "UniPC", "LCM"]
    for name in every:
        cases.append({"sampler": name, "steps": 10, "seeds": [1234, 1235]})
    cases += [
        {"sampler": "Euler", "steps": 12, "seeds": [7, 8], "s_churn": 0.6, "s_tmin": 0.5, "s_tmax": 6.0, "s_noise": 1.003},
        {"sampler": "Heun", "steps": 6, "seeds": [7, 8], "s_churn": 1.0},
        {"sampler": "DPM2", "steps": 6, "seeds": [7, 8], "s_churn": 1.0, "schedule": "Exponential"},
        {"sampler": "Euler a", "steps": 9, "seeds": [99, 100], "eta": 0.5, "schedule": "Karras"},
        {"sampler": "DPM2 a", "steps": 7, "seeds": [5, 6], "eta": 0.8, "s_noise": 0.97},
        {"sampler": "DPM++ SDE", "steps": 8, "seeds": [42, 43], "eta": 0.0},
        {"sampler": "DPM++ SDE", "steps": 8, "seeds": [42, 43], "eta": 0.6, "schedule": "Exponential", "s_noise": 1.01},
        {"sampler": "DPM++ 2M SDE", "steps": 15, "seeds": [3000000000, 3000000001], "eta": 0.7, "schedule": "Karras"},
        {"sampler": "DPM++ 3M SDE", "steps": 12, "seeds": [11, 12], "schedule": "Karras"},
        {"sampler": "DPM++ 2M", "steps": 20, "seeds": [11, 12], "schedule": "Align Your Steps"},
        {"sampler": "LMS", "steps": 15, "seeds": [11, 12], "schedule": "Karras"},
        {"sampler": "Restart", "steps": 24, "seeds": [21, 22]},
        {"sampler": "Restart", "steps": 40, "seeds": [21, 22]},
        {"sampler": "DDIM", "steps": 30, "seeds": [31, 32], "eta": 0.6},
        {"sampler": "PLMS", "steps": 7, "seeds": [31, 32]},
        {"sampler": "UniPC", "steps": 25, "seeds": [31, 32]},
        {"sampler": "LCM", "steps": 4, "seeds": [5, 6], "schedule": "Karras"},
        {"sampler": "Euler", "steps": 10, "seeds": [1234], "prediction": "v"},
        {"sampler": "DPM++ 2M", "steps": 10, "seeds": [1234], "prediction": "v"},
        {"sampler": "DDIM", "steps": 10, "seeds": [1234], "prediction": "v"},
        {"sampler": "UniPC", "steps": 10, "seeds": [1234], "prediction": "v"},
        {"sampler": "Euler a", "steps": 10, "seeds": [1234, 1235], "rng": "NV"},
        {"sampler": "DPM++ 2M SDE", "steps": 10, "seeds": [1234, 1235], "rng": "NV"},
        # img2img, and the hires pass's fixed steps
        {"sampler": "Euler a", "steps": 12, "seeds": [77, 78], "strength": 0.55},
        {"sampler": "DPM++ 2M", "steps": 10, "seeds": [77, 78], "strength": 0.7, "fix_steps": True},
        {"sampler": "DPM++ 2M SDE", "steps": 12, "seeds": [77, 78], "strength": 0.6},
        {"sampler": "DPM++ SDE", "steps": 9, "seeds": [77, 78], "strength": 0.45},
        {"sampler": "DPM2", "steps": 10, "seeds": [77, 78], "strength": 0.5},
        {"sampler": "DDIM", "steps": 20, "seeds": [77, 78], "strength": 0.6, "eta": 0.3},
        {"sampler": "PLMS", "steps": 20, "seeds": [77, 78], "strength": 0.75},
        {"sampler": "UniPC", "steps": 20, "seeds": [77, 78], "strength": 0.6},
        {"sampler": "LCM", "steps": 8, "seeds": [77, 78], "strength": 0.5},
    ]
    for c in cases:
        result, sched = run_case(c)
        c["result"] = f32(result)
        if sched is not None:
            c["sigmas"] = f32(sched)
    return cases


def schedule_cases():
    out = []
    base = kd.external.CompVisDenoiser(FakeSD("eps"))
    lcm_wrap = lcm.LCMCompVisDenoiser(FakeSD("eps"))
    for label in ["Uniform", "Karras", "Exponential", "Polyexponential", "SGM Uniform", "KL Optimal", "Align Your Steps",
                  "Simple", "Normal", "DDIM", "Beta"]:
        for n in [1, 5, 11, 20, 33]:
            for sdxl in ([False, True] if label == "Align Your Steps" else [False]):
                sd_model.is_sdxl = sdxl
                sigmas = get_sigmas(base, None, {}, label, n)
                out.append({"schedule": label, "steps": n, "sdxl": sdxl, "sigmas": f32(sigmas)})
        sd_model.is_sdxl = False
        for n in [4, 9]:
            out.append({"schedule": label, "steps": n, "lcm": True, "sigmas": f32(get_sigmas(lcm_wrap, None, {}, label, n))})
    sd_model.is_sdxl = False
    return out


def conversions():
    base = kd.external.CompVisDenoiser(FakeSD("eps"))
    sig = [0.0292, 0.03, 0.1, 0.5, 1.0, 2.5, 7.0, 14.0, 14.6, 20.0, 0.01]
    ts = [0.0, 0.25, 1.0, 17.5, 500.0, 950.05, 998.9, 999.0]
    return {"sigma_to_t": [[s, float(base.sigma_to_t(torch.tensor(s)))] for s in sig],
            "t_to_sigma": [[t, float(base.t_to_sigma(torch.tensor(t)))] for t in ts]}


def seed_sequences():
    out = []
    for entropy in [0, 1, 1234, 2 ** 32 - 1, 2 ** 32, 3000000000, 2 ** 70 + 5]:
        for key in [(), (0, 0), (1, 1), (5, 3), (123456, 17)]:
            for pool in [4, 24]:
                ss = np.random.SeedSequence(entropy=entropy, spawn_key=key, pool_size=pool)
                out.append({"entropy": str(entropy), "spawn_key": list(key), "pool": pool,
                            "state": [int(v) for v in ss.generate_state(5)]})
    return out


def brownian_cases():
    out = []
    for source, seed, (t0, t1), queries in [
        ("CPU", 1234, (0.0291675, 14.614642), [(14.614642, 10.0), (10.0, 3.0), (3.0, 1.0), (1.0, 0.3), (0.3, 0.0291675)]),
        ("CPU", 7, (0.5, 2.0), [(0.75, 1.25), (1.25, 2.0), (0.5, 0.6), (0.6, 1.9)]),
        ("NV", 99, (0.0291675, 14.614642), [(14.614642, 2.0), (2.0, 0.1)]),
    ]:
        opts.randn_source = source
        x = torch.zeros((1,) + SHAPE)
        ns = kd.sampling.BrownianTreeNoiseSampler(x, torch.tensor(t0), torch.tensor(t1), seed=[seed])
        rows = []
        for a, b in queries:
            rows.append({"sigma": a, "sigma_next": b, "noise": f32(ns(torch.tensor(a), torch.tensor(b)))})
        out.append({"rng": source, "seed": seed, "t0": t0, "t1": t1, "queries": rows})
    opts.randn_source = "CPU"
    return out


fixture = {
    "about": "tools/reference/make_sampler_fixtures.py: A1111 1.10.1, k-diffusion ab527a9a, torchsde 0.2.6, torch "
             + torch.__version__,
    "shape": list(SHAPE), "s2": S2, "mu": f32(MU), "init": f32(INIT),
    "alphas_cumprod": f32(alphas_cumprod),
    "conversions": conversions(),
    "schedules": schedule_cases(),
    "seed_sequences": seed_sequences(),
    "brownian": brownian_cases(),
    "samplers": sampler_cases(),
}
with open(args.out, "w") as f:
    json.dump(fixture, f, separators=(",", ":"))
print(f"wrote {args.out}: {len(fixture['schedules'])} schedules, {len(fixture['samplers'])} sampler runs")
