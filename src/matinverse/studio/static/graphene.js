// Graphene page: sheets of a requested energy density drawn as carbon atoms, with the
// oracle's energies.
import { $, downloads, escape, formValues, runJob } from "./common.js";

export function setupGraphene(info) {
  const [low, high] = info.density_range;
  $("#graphene-range").textContent = `training range ${low.toFixed(4)} to ${high.toFixed(4)} eV/Å²`;
  $("#graphene-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("#graphene-results").innerHTML = "";
    runJob("graphene", formValues(event.target), $("#graphene-job"), show);
  });
}

// SVG of one sheet: carbons as dots, bonds (< 1.7 Å) as lines, the periodic cell outlined
function sheetSvg(sheet, size = 300) {
  const [[ax, ay], [bx, by]] = sheet.cell;
  const corners = [[0, 0], [ax, ay], [ax + bx, ay + by], [bx, by]];
  const xs = corners.map((c) => c[0]);
  const ys = corners.map((c) => c[1]);
  const x0 = Math.min(...xs) - 1;
  const y0 = Math.min(...ys) - 1;
  const spanX = Math.max(...xs) - x0 + 1;
  const spanY = Math.max(...ys) - y0 + 1;
  const s = size / Math.max(spanX, spanY);
  const width = Math.ceil(spanX * s);
  const height = Math.ceil(spanY * s);
  const X = (x) => ((x - x0) * s).toFixed(1);
  const Y = (y) => (height - (y - y0) * s).toFixed(1);
  const parts = [`<svg class="sheet" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`];
  parts.push(`<polygon points="${corners.map(([x, y]) => `${X(x)},${Y(y)}`).join(" ")}" fill="#f5f7fa" stroke="#bbb"/>`);
  const atoms = sheet.xy;
  for (let i = 0; i < atoms.length; i++) {
    for (let j = i + 1; j < atoms.length; j++) {
      const dx = atoms[i][0] - atoms[j][0];
      const dy = atoms[i][1] - atoms[j][1];
      if (dx * dx + dy * dy < 2.89) parts.push(`<line x1="${X(atoms[i][0])}" y1="${Y(atoms[i][1])}" x2="${X(atoms[j][0])}" y2="${Y(atoms[j][1])}" stroke="#555" stroke-width="${Math.max(0.6, 0.25 * s)}"/>`);
    }
  }
  const r = Math.max(1, 0.35 * s).toFixed(1);
  for (const [x, y] of atoms) parts.push(`<circle class="atom" cx="${X(x)}" cy="${Y(y)}" r="${r}" fill="#222"/>`);
  parts.push("</svg>");
  return parts.join("");
}

function show(job) {
  const r = job.result;
  const figures = r.sheets.map(
    (sheet, i) => `<figure>${sheetSvg(sheet)}<figcaption>#${i + 1}: ${sheet.atoms} C, energy
      <span class="energy">${sheet.energy.toFixed(3)}</span> eV, density ${sheet.density.toFixed(4)} eV/Å²</figcaption></figure>`,
  );
  const mae = r.sheets.reduce((a, s) => a + Math.abs(s.density - r.requested), 0) / r.sheets.length;
  $("#graphene-results").innerHTML = `
    <p>${r.sheets.length} sheets for ${escape(r.requested)} eV/Å²; oracle density within
      <span id="graphene-mae">${mae.toFixed(4)}</span> eV/Å² of the request on average
      (energies relative to pristine graphene, by the Hückel + dangling-bond oracle).</p>
    <div class="sheets">${figures.join("")}</div>
    ${downloads(job, ["sheets.xyz", "sheets.npy"])}`;
}
