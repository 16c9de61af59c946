"use strict";
// The SdSharp web UI: plain JavaScript over the same /sdapi/v1 API that A1111 clients use.

const $ = id => document.getElementById(id);
let mode = "txt2img";          // or "img2img"
let running = false;
let maskPainted = false;
let initDataUrl = null;

// ---- API ----

async function api(path, body) {
  const init = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const response = await fetch("sdapi/v1/" + path, init);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(describeError(response.status, data));
  return data;
}

function describeError(status, data) {
  if (data && Array.isArray(data.detail)) return data.detail.map(d => d.loc.slice(1).join(".") + ": " + d.msg).join("\n");
  return (data && typeof data.detail === "string" && data.detail) || (data && data.errors) || "HTTP " + status;
}

function showError(message) {
  $("error").textContent = message || "";
  $("error").hidden = !message;
}

function fillSelect(select, values, selected) {
  select.replaceChildren(...values.map(v => new Option(v.label ?? v, v.value ?? v)));
  if (selected !== undefined) select.value = selected;
}

// ---- start-up ----

async function init() {
  try {
    const [samplers, schedulers, upscalers, latent, models, options] = await Promise.all([
      api("samplers"), api("schedulers"), api("upscalers"), api("latent-upscale-modes"), api("sd-models"), api("options")]);
    fillSelect($("sampler_name"), samplers.map(s => s.name), "DPM++ 2M");
    fillSelect($("scheduler"), schedulers.map(s => ({ label: s.label, value: s.label })), "Automatic");
    fillSelect($("hr_upscaler"), [...latent.map(m => m.name), ...upscalers.map(u => u.name)], "Latent");
    fillSelect($("model"), models.map(m => m.title), options.sd_model_checkpoint);
    await useNativeSize();
  } catch (e) {
    showError("Could not reach the server: " + e.message);
  }
}

/** Width and height default to the size the selected model was trained at (SdSharp's /internal/sdsharp says). */
async function useNativeSize() {
  for (let i = 0; i < 20; i++) {
    const info = await (await fetch("internal/sdsharp")).json();
    if (info.native_size > 0 && info.model === $("model").value) {
      $("width").value = $("height").value = info.native_size;
      $("model-status").textContent = info.backend;
      return;
    }
    await new Promise(r => setTimeout(r, 250)); // the first model is still loading
  }
}

$("model").addEventListener("change", async () => {
  $("model-status").textContent = "loading…";
  $("model").disabled = true;
  try {
    await api("options", { sd_model_checkpoint: $("model").value });
    await useNativeSize();
    showError("");
  } catch (e) {
    showError(e.message);
    $("model-status").textContent = "";
  } finally {
    $("model").disabled = false;
  }
});

// ---- tabs ----

for (const tab of document.querySelectorAll("#tabs button")) {
  tab.addEventListener("click", () => {
    document.querySelectorAll("#tabs button").forEach(b => b.classList.toggle("active", b === tab));
    const name = tab.dataset.tab;
    $("generate").hidden = name === "pnginfo";
    $("pnginfo").hidden = name !== "pnginfo";
    if (name !== "pnginfo") setMode(name);
  });
}

function setMode(name) {
  mode = name;
  $("img2img-input").hidden = mode !== "img2img";
  document.querySelectorAll(".img2img-only").forEach(e => e.hidden = mode !== "img2img");
  document.querySelectorAll(".txt2img-only").forEach(e => e.hidden = mode !== "txt2img" || (e.classList.contains("hires") && !$("enable_hr").checked));
}
$("enable_hr").addEventListener("change", () => setMode(mode));

// ---- img2img: the init image and the mask painted over it ----

function setupDrop(zone, input, onFile) {
  zone.addEventListener("dragover", e => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", e => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer.files.length) onFile(e.dataTransfer.files[0]);
  });
  input.addEventListener("change", () => { if (input.files.length) onFile(input.files[0]); });
}

function readDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function setInitImage(dataUrl) {
  const image = new Image();
  image.src = dataUrl;
  await image.decode();
  initDataUrl = dataUrl;
  for (const canvas of [$("init-canvas"), $("mask-canvas")]) {
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
  }
  const shown = Math.min(512, Math.max(256, image.naturalWidth));
  $("init-canvas").style.width = $("mask-canvas").style.width = shown + "px";
  $("init-canvas").getContext("2d").drawImage(image, 0, 0);
  clearMask();
  $("canvas-wrap").hidden = false;
  $("width").value = Math.floor(image.naturalWidth / 8) * 8;
  $("height").value = Math.floor(image.naturalHeight / 8) * 8;
}

setupDrop($("init-drop"), $("init-file"), async file => setInitImage(await readDataUrl(file)));

function clearMask() {
  const canvas = $("mask-canvas");
  canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  maskPainted = false;
}
$("clear-mask").addEventListener("click", clearMask);

(function paintMask() {
  const canvas = $("mask-canvas");
  let drawing = false;
  const paint = e => {
    const rect = canvas.getBoundingClientRect();
    const scale = canvas.width / rect.width;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#ffffff";
    ctx.beginPath();
    ctx.arc((e.clientX - rect.left) * scale, (e.clientY - rect.top) * scale, $("brush").value * scale / 2, 0, Math.PI * 2);
    ctx.fill();
    maskPainted = true;
  };
  canvas.addEventListener("pointerdown", e => { drawing = true; canvas.setPointerCapture(e.pointerId); paint(e); });
  canvas.addEventListener("pointermove", e => { if (drawing) paint(e); });
  canvas.addEventListener("pointerup", () => { drawing = false; });
})();

/** The painted strokes as A1111 wants a mask: white where to repaint, black elsewhere. */
function maskDataUrl() {
  const source = $("mask-canvas");
  const mask = document.createElement("canvas");
  mask.width = source.width;
  mask.height = source.height;
  const ctx = mask.getContext("2d");
  ctx.fillStyle = "#000000";
  ctx.fillRect(0, 0, mask.width, mask.height);
  ctx.drawImage(source, 0, 0);
  return mask.toDataURL("image/png");
}

// ---- generation ----

function number(id) { return Number($(id).value); }

function payload(taskId) {
  const body = {
    prompt: $("prompt").value,
    negative_prompt: $("negative_prompt").value,
    sampler_name: $("sampler_name").value,
    scheduler: $("scheduler").value,
    steps: number("steps"),
    cfg_scale: number("cfg_scale"),
    width: number("width"),
    height: number("height"),
    seed: number("seed"),
    n_iter: number("n_iter"),
    batch_size: number("batch_size"),
    force_task_id: taskId,
  };
  if (mode === "txt2img") {
    if ($("enable_hr").checked) Object.assign(body, {
      enable_hr: true, hr_upscaler: $("hr_upscaler").value, hr_scale: number("hr_scale"),
      hr_second_pass_steps: number("hr_second_pass_steps"), denoising_strength: number("hr_denoising_strength"),
    });
    return body;
  }
  if (!initDataUrl) throw new Error("Choose an init image first.");
  Object.assign(body, {
    init_images: [initDataUrl],
    denoising_strength: number("denoising_strength"),
    resize_mode: number("resize_mode"),
  });
  if (maskPainted) Object.assign(body, {
    mask: maskDataUrl(),
    mask_blur: number("mask_blur"),
    inpainting_fill: number("inpainting_fill"),
    inpaint_full_res: $("inpaint_full_res").value === "true",
    inpaint_full_res_padding: number("inpaint_full_res_padding"),
  });
  return body;
}

async function generate() {
  if (running) return;
  showError("");
  const taskId = "task(webui-" + Math.random().toString(36).slice(2, 12) + ")";
  let body;
  try { body = payload(taskId); } catch (e) { showError(e.message); return; }
  setRunning(true);
  const poll = setInterval(() => pollProgress(taskId), 400);
  try {
    const result = await api(mode, body);
    const info = JSON.parse(result.info);
    addResults(result.images, info.infotexts);
  } catch (e) {
    showError(e.message);
  } finally {
    clearInterval(poll);
    setRunning(false);
  }
}
$("generate-button").addEventListener("click", generate);
$("prompt").addEventListener("keydown", e => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) generate(); });
$("interrupt-button").addEventListener("click", () => api("interrupt", {}).catch(e => showError(e.message)));
$("skip-button").addEventListener("click", () => api("skip", {}).catch(e => showError(e.message)));

function setRunning(on) {
  running = on;
  $("generate-button").disabled = on;
  $("generate-button").textContent = on ? "Generating…" : "Generate";
  $("interrupt-button").disabled = $("skip-button").disabled = !on;
  $("progress").hidden = !on;
  $("progress-fill").style.width = "0";
  $("progress-text").textContent = on ? "Starting…" : "";
  $("preview").hidden = true;
}

async function pollProgress(taskId) {
  let p;
  try { p = await api("progress?skip_current_image=false"); } catch { return; }
  if (!running) return;
  if (p.current_task !== taskId) {
    $("progress-text").textContent = "Waiting in the queue…";
    return;
  }
  $("progress-fill").style.width = Math.round(p.progress * 100) + "%";
  const eta = p.eta_relative > 0 ? `, about ${Math.ceil(p.eta_relative)} s left` : "";
  $("progress-text").textContent = `${Math.round(p.progress * 100)}%${eta}${p.textinfo ? " — " + p.textinfo : ""}`;
  if (p.current_image) {
    $("preview").src = "data:image/png;base64," + p.current_image;
    $("preview").hidden = false;
  }
}

// ---- results ----

function addResults(images, infotexts) {
  images.forEach((b64, i) => {
    const thumb = document.createElement("img");
    thumb.src = "data:image/png;base64," + b64;
    thumb.alt = "result";
    thumb.dataset.infotext = infotexts[i] ?? "";
    thumb.addEventListener("click", () => select(thumb));
    $("gallery").prepend(thumb);
  });
  const first = $("gallery").children[images.length - 1];
  if (first) select(first);
}

function select(thumb) {
  document.querySelectorAll("#gallery img").forEach(t => t.classList.toggle("selected", t === thumb));
  $("current-image").src = thumb.src;
  $("current-image").hidden = false;
  $("infotext").textContent = thumb.dataset.infotext;
}

// ---- PNG Info ----

let lastParameters = null;

setupDrop($("png-drop"), $("png-file"), async file => {
  try {
    const dataUrl = await readDataUrl(file);
    const info = await api("png-info", { image: dataUrl });
    lastParameters = info.parameters;
    $("png-image").src = dataUrl;
    $("png-parameters").textContent = info.info || "(no generation parameters in this image)";
    $("png-fields").replaceChildren(...Object.entries(info.parameters).map(([k, v]) => {
      const row = document.createElement("tr");
      row.append(Object.assign(document.createElement("td"), { textContent: k }), Object.assign(document.createElement("td"), { textContent: String(v) }));
      return row;
    }));
    $("png-result").hidden = false;
    showError("");
  } catch (e) {
    showError(e.message);
  }
});

$("png-send").addEventListener("click", () => {
  const p = lastParameters;
  if (!p) return;
  $("prompt").value = p["Prompt"] ?? "";
  $("negative_prompt").value = p["Negative prompt"] ?? "";
  const set = (id, key) => { if (p[key] !== undefined) $(id).value = p[key]; };
  set("steps", "Steps"); set("cfg_scale", "CFG scale"); set("seed", "Seed"); set("width", "Size-1"); set("height", "Size-2");
  if (p["Sampler"]) $("sampler_name").value = p["Sampler"];
  if (p["Schedule type"]) $("scheduler").value = p["Schedule type"];
  document.querySelector('#tabs button[data-tab="txt2img"]').click();
});

setMode("txt2img");
init();
