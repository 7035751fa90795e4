// gmwidgets view loader: the ESM a saved notebook keeps for each gmwidgets view, instead of the view's code.
// The code (the files FILES of gmwidgets/static/, joined) is loaded once per page and cached by content hash (KEY):
// 1. from the Jupyter server: gmwidgets.serverext serves gmwidgets/static/ under the page's base URL (JupyterLab 4,
//    Notebook 7, also a notebook reopened without running a cell);
// 2. else from the kernel: a page with no Jupyter server (an editor's notebook view) asks the kernel once.
// `view_esm` (vegachart.py) fills in FILES and KEY.

const FILES = ["@FILES@"], KEY = "@KEY@";
// files and key -> Promise of the view's module
const VIEWS = (globalThis.__gmwidgetsViews ??= new Map());

function serverBase() {
  const config = document.getElementById("jupyter-config-data");
  if (!config) return null;
  const base = (JSON.parse(config.textContent).baseUrl ?? "/").replace(/\/?$/, "/");
  return new URL(`${base}gmwidgets/static/`, location.href).href;
}

async function serverCode(base) {
  const texts = await Promise.all(FILES.map(async (f) => {
    const r = await fetch(`${base}${f}?v=${KEY}`);
    if (!r.ok) throw new Error(`${f}: HTTP ${r.status}`);
    return r.text();
  }));
  return texts.join("\n");
}

function kernelCode(model) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(null, "no view code: no gmwidgets server extension answered, and no kernel"),
                             20000);
    function done(code, error) {
      clearTimeout(timer);
      model.off("msg:custom", onMessage);
      code ? resolve(code) : reject(new Error(error));
    }
    function onMessage(msg) {
      if (msg?.type === "view-code") done(msg.code, msg.error ?? "the kernel sent no view code");
    }
    model.on("msg:custom", onMessage);
    try { model.send({ type: "view-code", files: FILES }); } catch (e) { done(null, String(e)); }
  });
}

async function importView(model) {
  let code = null;
  const base = serverBase();
  if (base) {
    try { code = await serverCode(base); }
    catch (e) { console.warn("gmwidgets: no view code from the server, asking the kernel:", e); }
  }
  const url = URL.createObjectURL(new Blob([code ?? await kernelCode(model)], { type: "text/javascript" }));
  try { return await import(/* webpackIgnore: true */ url); } finally { URL.revokeObjectURL(url); }
}

function loadView(model) {
  const id = `${FILES.join("+")}?v=${KEY}`;
  if (!VIEWS.has(id)) {
    const loading = importView(model);
    loading.catch(() => VIEWS.delete(id));
    VIEWS.set(id, loading);
  }
  return VIEWS.get(id);
}

async function render(ctx) {
  try { return await (await loadView(ctx.model)).default.render(ctx); }
  catch (e) {
    console.error("gmwidgets view:", e);
    const box = Object.assign(document.createElement("pre"), { className: "gmwidgets-error" });
    box.style.cssText = "color:#b00;white-space:pre-wrap;font-size:12px;margin:4px 0";
    box.textContent = "gmwidgets view error: " + (e?.message ?? String(e));
    ctx.el.appendChild(box);
  }
}

export default { render };
