// gmwidgets: how a chart view finds the Vega runtime and shows its errors (prepended to each chart's ESM by
// `chart_esm`: the one copy every view uses).
// 1. From the Jupyter server: the package's server extension serves gmwidgets/static/vega.js under the page's base
//    URL (JupyterLab 4, Notebook 7, also for a notebook reopened without running a cell).
// 2. Else from the kernel: a page with no Jupyter server (an editor's notebook view) asks the kernel once for the
//    runtime, which comes back as a binary buffer. Nothing is fetched from a CDN.
// The module is cached on the page by content hash (`_vega_key`): one import for every chart of the page.

const VEGA = (globalThis.__gmwidgetsVega ??= new Map()); // key -> Promise of the module {vegaEmbed, vega, vegaLite}
const KERNEL_WAIT_MS = 20000;

function serverVegaUrl(key) {
  const config = document.getElementById("jupyter-config-data");
  if (!config) return null; // not a Jupyter server's page
  const base = (JSON.parse(config.textContent).baseUrl ?? "/").replace(/\/?$/, "/");
  return new URL(`${base}gmwidgets/static/vega.js?v=${key}`, location.href).href;
}

function kernelVega(model) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(null, new Error("no Vega runtime: no gmwidgets server extension answered, and no kernel")), KERNEL_WAIT_MS);
    function done(buffers, error) {
      clearTimeout(timer);
      model.off("msg:custom", onMessage);
      if (error) return reject(error);
      const url = URL.createObjectURL(new Blob([buffers[0]], { type: "text/javascript" }));
      import(/* webpackIgnore: true */ url).then(resolve, reject).finally(() => URL.revokeObjectURL(url));
    }
    function onMessage(msg, buffers) {
      if (msg?.type !== "vega") return;
      buffers?.length ? done(buffers) : done(null, new Error(msg.error ?? "the kernel sent no Vega runtime"));
    }
    model.on("msg:custom", onMessage);
    try { model.send({ type: "vega" }); } catch (e) { done(null, e); }
  });
}

async function importVega(model) {
  const url = serverVegaUrl(model.get("_vega_key"));
  if (url) {
    try { return await import(/* webpackIgnore: true */ url); }
    catch (e) { console.warn("gmwidgets: no Vega runtime from the server, asking the kernel:", e); }
  }
  return kernelVega(model);
}

function loadVega(model) {
  const key = model.get("_vega_key");
  if (!VEGA.has(key)) {
    const loading = importVega(model);
    loading.catch(() => VEGA.delete(key)); // a later view may retry
    VEGA.set(key, loading);
  }
  return VEGA.get(key);
}

// Text from base64 of gzip (`DecompressionStream`).
async function gunzipText(b64) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text();
}

// A large spec travels gzipped, as {gz: base64} (`pack_spec`); a plain spec (the Runs panel's feed) is taken as it is,
// and so are the gzipped inline datasets ("gz:" and base64) of notebooks saved before: the spec again, for Vega.
async function unpackSpec(spec) {
  const packed = spec && typeof spec.gz === "string" && Object.keys(spec).length === 1;
  if (packed) spec = JSON.parse(await gunzipText(spec.gz));
  const sets = spec?.datasets;
  if (!sets || !Object.values(sets).some((v) => typeof v === "string" && v.startsWith("gz:"))) return spec;
  const out = { ...spec, datasets: { ...sets } };
  for (const [k, v] of Object.entries(sets)) {
    if (typeof v === "string" && v.startsWith("gz:")) out.datasets[k] = await gunzipText(v.slice(3));
  }
  return out;
}

// Where this view renders, its static picture (a separate output, for front ends without widgets) is hidden.
function hidePicture(model) {
  const id = model.get("_picture_id");
  if (!/^[\w-]+$/.test(id) || document.getElementById(id)) return;
  const style = document.createElement("style");
  style.id = id;
  style.textContent = `.jp-OutputArea-child:has(img[src*="${id}"]) { display: none; }`;
  document.head.appendChild(style);
}

// An error of a view: shown in the view (not swallowed), logged, and written into the `js_error` trait.
function showError(el, model, error) {
  console.error("gmwidgets chart:", error);
  let box = el.querySelector(".gmwidgets-error");
  if (!box) { box = document.createElement("pre"); box.className = "gmwidgets-error"; el.appendChild(box); }
  box.style.cssText = "color:#b00;white-space:pre-wrap;font-size:12px;margin:4px 0";
  box.textContent = "gmwidgets chart error: " + (error?.message ?? String(error));
  try { model.set("js_error", String(error?.stack ?? error)); model.save_changes(); } catch (e) { /* no kernel */ }
}
