// Porous page: draw, pick or upload a target isotherm; design grids; show them beside the
// target and their simulated isotherms with the exact simulator's errors.
import { $, api, COLORS, downloads, escape, fileUrl, formValues, plot, runJob, table } from "./common.js";

export function setupPorous(info) {
  const rh = info.relative_pressure;
  const curve = new Array(rh.length).fill(null); // drawn fillings, null where not drawn
  const area = $("#porous-draw");
  const limits = { xlim: [0, 1], ylim: [0, 1], xlabel: "relative pressure RH", ylabel: "target filling θ" };
  let geometry = plot(limits);
  let last = null;

  // the curve sent: drawn points, held flat beyond the drawn ends and linear in between
  const filled = () => {
    const known = curve.map((y, i) => [i, y]).filter(([, y]) => y !== null);
    if (!known.length) return [];
    return curve.map((_, i) => {
      if (i <= known[0][0]) return known[0][1];
      if (i >= known[known.length - 1][0]) return known[known.length - 1][1];
      const right = known.findIndex(([k]) => k >= i);
      const [i0, y0] = known[right - 1];
      const [i1, y1] = known[right];
      return y0 + ((y1 - y0) * (i - i0)) / (i1 - i0);
    });
  };
  const draw = () => {
    const target = filled();
    geometry = plot({ ...limits, series: target.length ? [{ x: rh, y: target, color: "#000", dots: true, width: 2, cls: "target" }] : [] });
    area.innerHTML = geometry.svg;
  };
  const setCurve = (values) => {
    values.forEach((v, i) => (curve[i] = v));
    draw();
  };

  const pointAt = (event) => {
    const svg = area.querySelector("svg");
    const box = svg.getBoundingClientRect();
    const px = ((event.clientX - box.left) * svg.viewBox.baseVal.width) / box.width;
    const py = ((event.clientY - box.top) * svg.viewBox.baseVal.height) / box.height;
    const i = Math.max(0, Math.min(rh.length - 1, Math.round(geometry.fromX(px) * (rh.length - 1))));
    return [i, Math.max(0, Math.min(1, geometry.fromY(py)))];
  };
  const paint = (event) => {
    const [i, y] = pointAt(event);
    if (last) {
      const [i0, y0] = last;
      const step = i > i0 ? 1 : -1;
      for (let k = i0; k !== i; k += step) curve[k] = y0 + ((y - y0) * (k - i0)) / (i - i0);
    }
    curve[i] = y;
    last = [i, y];
    draw();
  };
  area.addEventListener("pointerdown", (event) => {
    area.setPointerCapture(event.pointerId);
    $("#porous-preset").value = "";
    last = null;
    paint(event);
  });
  area.addEventListener("pointermove", (event) => {
    if (event.buttons & 1 && last) paint(event);
  });
  area.addEventListener("pointerup", () => (last = null));

  const presets = $("#porous-preset");
  for (const name of Object.keys(info.presets)) presets.add(new Option(name, name));
  presets.addEventListener("change", () => {
    if (presets.value) setCurve(info.presets[presets.value]);
  });
  $("#porous-clear").addEventListener("click", () => setCurve(curve.map(() => null)));

  const upload = $("#porous-upload");
  const pick = $("#porous-upload-pick");
  const panel = $("#porous-job");
  let uploaded = [];
  upload.addEventListener("change", async () => {
    if (!upload.files.length) return;
    const form = new FormData();
    form.append("file", upload.files[0]);
    try {
      uploaded = (await api("/api/porous/targets", { method: "POST", body: form })).targets;
    } catch (err) {
      panel.innerHTML = `<p class="error" role="alert">${escape(err.message)}</p>`;
      return;
    }
    panel.innerHTML = "";
    pick.innerHTML = uploaded.map((_, i) => `<option value="${i}">curve ${i + 1} of ${uploaded.length}</option>`).join("");
    pick.hidden = uploaded.length < 2;
    presets.value = "";
    setCurve(uploaded[0]);
  });
  pick.addEventListener("change", () => setCurve(uploaded[Number(pick.value)]));

  $("#porous-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { ...formValues(event.target), target: filled() };
    $("#porous-results").innerHTML = "";
    runJob("porous", body, panel, (job) => show(job));
  });
  draw();
}

function show(job) {
  const r = job.result;
  const series = [{ x: r.relative_pressure, y: r.target, color: "#000", width: 2.5, label: "target" }];
  r.candidates.forEach((c, i) =>
    series.push({ x: r.relative_pressure, y: c.adsorption, color: COLORS[i % COLORS.length], dots: true, label: `#${i + 1} simulated, MAE ${c.mae.toFixed(4)}` }),
  );
  const curves = plot({ xlim: [0, 1], ylim: [0, 1.02], xlabel: "relative pressure RH", ylabel: "filling θ", series, width: 520 });
  const grids = r.candidates
    .map((c, i) => `<figure><img class="grid" alt="grid ${i + 1}" src="${fileUrl(job, c.image)}"><figcaption>#${i + 1}: MAE <span class="mae">${c.mae.toFixed(4)}</span></figcaption></figure>`)
    .join("");
  const rows = r.candidates.map((c, i) => ({ rank: `#${i + 1}`, mae: c.mae.toFixed(4), max_error: c.max_error.toFixed(4), porosity: c.porosity.toFixed(2) }));
  $("#porous-results").innerHTML = `
    <p>Best verified error (${escape(r.errors_are)}): MAE <strong id="porous-best-mae">${r.candidates[0].mae.toFixed(4)}</strong>
      after ${r.simulations} simulations in ${r.seconds.toFixed(1)} s. Grids: pore white, solid black.</p>
    <div class="columns"><div class="plot">${curves.svg}</div><div class="grids">${grids}</div></div>
    ${table([{ key: "rank", label: "grid" }, { key: "mae", label: "MAE" }, { key: "max_error", label: "max error" }, { key: "porosity", label: "porosity" }], rows)}
    ${downloads(job, ["grids.npy", "grids.csv", "report.json", "design.png"])}`;
}
