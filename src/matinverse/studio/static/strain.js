// Strain page: designs for a target band gap as a table and a scatter plot of any two columns.
import { $, downloads, formValues, plot, runJob, table } from "./common.js";

export function setupStrain(info) {
  const [low, high] = info.bandgap_range;
  $("#strain-range").textContent = `data range ${low} to ${high} eV`;
  const method = $("#strain-form [name=method]");
  for (const name of info.methods) method.add(new Option(name, name, name === "cinn", name === "cinn"));
  $("#strain-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("#strain-results").innerHTML = "";
    runJob("strain", formValues(event.target), $("#strain-job"), show);
  });
}

function show(job) {
  const { columns, rows, wanted } = job.result;
  const results = $("#strain-results");
  const choose = (name, selected) =>
    `<label>${name} <select class="axis" name="${name}">${columns.map((c) => `<option ${c === selected ? "selected" : ""}>${c}</option>`).join("")}</select></label>`;
  const cells = rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]])));
  const note = rows.length < wanted ? `<p class="notice">Found only ${rows.length} of ${wanted} distinct designs.</p>` : "";
  results.innerHTML = `${note}
    <p><span id="strain-count">${rows.length}</span> designs, best first (lattice a, b, c in Å, angles in degrees, field efield, predicted gap and its standard deviation in eV).</p>
    <div class="columns"><div><div class="row">${choose("x", "a")}${choose("y", "b")}</div><div class="plot" id="strain-scatter"></div></div>
    <div>${table(columns.map((c) => ({ key: c, label: c })), cells, (v) => v.toFixed(4))}</div></div>
    ${downloads(job, ["designs.csv"])}`;
  const draw = () => {
    const x = $("[name=x]", results).value;
    const y = $("[name=y]", results).value;
    const xs = cells.map((r) => r[x]);
    const ys = cells.map((r) => r[y]);
    const pad = (v) => {
      const lo = Math.min(...v);
      const hi = Math.max(...v);
      const d = (hi - lo) * 0.08 || Math.abs(lo) * 0.01 || 0.01;
      return [lo - d, hi + d];
    };
    const colors = cells.map((r) => r.bandgap_std);
    const series = xs.map((_, i) => ({ x: [xs[i]], y: [ys[i]], dots: true, radius: 4, line: false,
      color: `hsl(${220 - 200 * (colors[i] - Math.min(...colors)) / ((Math.max(...colors) - Math.min(...colors)) || 1)},70%,45%)` }));
    $("#strain-scatter").innerHTML = plot({ xlim: pad(xs), ylim: pad(ys), xlabel: x, ylabel: y, series }).svg +
      `<p class="hint">colour: bandgap_std, blue (low) to red (high)</p>`;
  };
  results.querySelectorAll("select.axis").forEach((s) => s.addEventListener("change", draw));
  if (rows.length) draw();
}
