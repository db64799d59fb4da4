// Compositions page: property bounds in, valid and novel formulas with predictions out.
import { $, downloads, formValues, runJob, table } from "./common.js";

const LABELS = {
  formation_energy: "formation energy (eV/atom)",
  bandgap: "band gap (eV)",
};

export function setupCompositions() {
  $("#compositions-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("#compositions-results").innerHTML = "";
    runJob("compositions", formValues(event.target), $("#compositions-job"), show);
  });
}

function show(job) {
  const r = job.result;
  const columns = [{ key: "formula", label: "formula", text: true }];
  for (const p of r.properties) {
    columns.push({ key: p, label: LABELS[p] }, { key: `${p}_uncertainty`, label: "± (1 std)" });
  }
  $("#compositions-results").innerHTML = `
    <p><span id="compositions-count">${r.rows.length}</span> formulas; hit rate ${(100 * r.hit_rate).toFixed(2)} %
      (${r.hits} of ${r.drawn} raw samples valid, novel and meeting the request).</p>
    ${table(columns, r.rows, (v, key) => (key === "formula" ? v : v.toFixed(3)))}
    ${downloads(job, ["designs.csv"])}`;
}
