// gmwidgets training dashboard controls (DashboardPanel): buttons, toggles, status, progress, current values, alert,
// error and export, drawn by one widget (a saved notebook keeps one small model instead of about thirty).
// The kernel builds every HTML trait with user text escaped (`status`, `values`, `alert`, `error`, `download`);
// `progress_text` and the export choices are set as text. Clicks go to the kernel as {type: "click", which}.

const BUTTONS = [["start", "Start", "\u25b6"], ["pause", "Pause", "\u23f8"], ["resume", "Resume", "\u25b6"],
                 ["stop", "Stop", "\u25a0"]];
const CSS = `.gmw-dash{display:flex;flex-direction:column;gap:4px;font-size:var(--jp-widgets-font-size,13px)}
.gmw-dash .gmw-row{display:flex;align-items:center;gap:4px;flex-wrap:wrap}
.gmw-dash button{min-width:64px;height:28px;border:1px solid var(--jp-border-color1,#bbb);border-radius:2px;
 background:var(--jp-layout-color2,#eee);color:var(--jp-ui-font-color1,#000);cursor:pointer}
.gmw-dash button:disabled{opacity:.5;cursor:default}
.gmw-dash button[aria-pressed=true]{background:var(--jp-brand-color1,#1976d2);color:#fff}
.gmw-dash progress{width:260px}
.gmw-dash progress.success{accent-color:#1b7f3b}.gmw-dash progress.danger{accent-color:#b00020}`;

function el(tag, attrs = {}, ...children) {
  const e = Object.assign(document.createElement(tag), attrs);
  e.append(...children);
  return e;
}

function button(label, glyph, onClick) {
  const b = el("button", { type: "button" }, el("span", { ariaHidden: "true", textContent: glyph + " " }), label);
  b.addEventListener("click", onClick);
  return b;
}

function toggle(model, trait, label, title) {
  const b = el("button", { type: "button", title, textContent: label });
  b.addEventListener("click", () => { model.set(trait, !model.get(trait)); model.save_changes(); });
  return [b, () => b.setAttribute("aria-pressed", String(!!model.get(trait)))];
}

function render({ model, el: root }) {
  const click = (which) => model.send({ type: "click", which });
  const buttons = Object.fromEntries(BUTTONS.map(([k, label, g]) => [k, button(label, g, () => click(k))]));
  const [logBtn, showLog] = toggle(model, "log_scale", "log y", "log-scaled y axes");
  const [smoothBtn, showSmooth] = toggle(model, "smooth", "smooth", "an EMA curve over the raw one");
  const status = el("span"), bar = el("progress"), progressText = el("span");
  const values = el("div"), alert = el("div"), error = el("div"), download = el("span");
  const choice = el("select", { className: "gmw-export", title: "the file to export" });
  choice.addEventListener("change", () => { model.set("export_choice", choice.value); model.save_changes(); });
  const exportBtn = button("Export", "\u2913", () => click("export"));
  exportBtn.title = "make a download link for the chosen file";
  root.classList.add("gmw-dash");
  root.append(el("style", { textContent: CSS }),
              el("div", { className: "gmw-row" }, ...Object.values(buttons), logBtn, smoothBtn, status),
              el("div", { className: "gmw-row" }, bar, progressText), values, alert, error,
              el("div", { className: "gmw-row" }, choice, exportBtn, download));

  const html = (node, trait) => () => { node.innerHTML = model.get(trait); node.hidden = !model.get(trait); };
  const updates = {
    enabled: () => { for (const [k, b] of Object.entries(buttons)) b.disabled = !model.get("enabled").includes(k); },
    status: html(status, "status"), values: html(values, "values"), alert: html(alert, "alert"),
    error: html(error, "error"), download: () => { download.innerHTML = model.get("download"); },
    progress_max: () => { bar.max = model.get("progress_max"); bar.value = model.get("progress"); },
    progress: () => { bar.value = model.get("progress"); },
    progress_shown: () => { bar.style.visibility = model.get("progress_shown") ? "visible" : "hidden"; },
    bar_style: () => { bar.className = model.get("bar_style"); },
    progress_text: () => { progressText.textContent = model.get("progress_text"); },
    log_scale: showLog, smooth: showSmooth,
    export_options: () => choice.replaceChildren(
      ...model.get("export_options").map((o) => el("option", { value: o, textContent: o }))),
    export_choice: () => { choice.value = model.get("export_choice"); },
  };
  const handlers = Object.entries(updates).map(([name, f]) => {
    const h = name === "export_options" ? () => { f(); updates.export_choice(); } : f;
    model.on(`change:${name}`, h);
    h();
    return [name, h];
  });
  return () => { for (const [name, h] of handlers) model.off(`change:${name}`, h); };
}

export default { render };
