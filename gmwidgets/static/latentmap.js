// gmwidgets latent map (LatentMap): a Vega-Lite scatter of encoded data, embedded with the bundled Vega (no CDN).
// Clicking a point sends its `index` to the kernel; the named dataset `marks_name` (A, B, current z) is
// replaced with a changeset whenever the `marks` trait changes, without re-embedding the chart. `loadVega`,
// `hidePicture` and `showError` come from vegaload.js, prepended to this file.

async function render({ model, el }) {
  hidePicture(model);
  el.classList.add("gmwidgets-chart", "gmw-latent-map");
  const target = document.createElement("div");
  el.appendChild(target);
  const state = { view: null, finalize: null, closed: false, picks: 0 };
  el.__gmwidgets = state; // read by tests
  let queue = Promise.resolve();
  const enqueue = (job) => (queue = queue.then(() => state.closed ? null : job()).catch((e) => showError(el, model, e)));

  async function setMarks() {
    if (!state.view) return;
    const cs = state.view.changeset().remove(() => true).insert(structuredClone(model.get("marks")));
    await state.view.change(model.get("marks_name"), cs).runAsync();
  }

  function onClick(event, item) {
    const d = item?.datum;
    if (d == null || d.index == null || d.index < 0) return; // marks have index -1
    state.picks += 1;
    model.send({ type: "pick", index: d.index });
  }

  async function embed() {
    const spec = await unpackSpec(structuredClone(model.get("spec")));
    if (!spec || !Object.keys(spec).length) return;
    const { vegaEmbed } = await loadVega(model);
    state.finalize?.();
    const res = await vegaEmbed(target, spec, { actions: false, renderer: "svg" });
    Object.assign(state, { view: res.view, finalize: res.finalize });
    state.view.addEventListener("click", onClick);
    await setMarks();
  }

  model.on("change:spec", () => enqueue(embed));
  model.on("change:marks", () => enqueue(setMarks));
  enqueue(embed);
  return () => { state.closed = true; state.finalize?.(); };
}

export default { render };
