// Crystals page: generated (and relaxed) crystals of a composition, a table with energy
// above the hull and the phonon verdict, and a rotatable 3D view of the selected one.
import { $, downloads, escape, fileUrl, formValues, runJob, table } from "./common.js";

const ELEMENT_COLORS = { Mg: "#3cb44b", Mn: "#9a4fd0", O: "#e6194b", Nb: "#2a9d8f" };
const RADII = { O: 0.55, Mg: 0.75, Mn: 0.75, Nb: 0.8 };

export function setupCrystals(info) {
  const system = $("#crystals-form [name=system]");
  for (const name of info.systems) system.add(new Option(name, name));
  const notice = () => {
    const message = info.unavailable[system.value];
    $("#crystals-notice").textContent = message || "";
    $("#crystals-notice").hidden = !message;
  };
  system.addEventListener("change", notice);
  notice();
  $("#crystals-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("#crystals-results").innerHTML = "";
    runJob("crystals", formValues(event.target), $("#crystals-job"), show);
  });
}

const verdict = (v) => (v === null || v === undefined ? "–" : v === true ? "yes" : v === false ? "no" : v);

function show(job) {
  const r = job.result;
  const rows = r.rows.map((row) => ({
    ...row,
    energy_per_atom: row.energy_per_atom === null ? "–" : row.energy_per_atom.toFixed(4),
    e_above_hull: row.e_above_hull === null ? (r.database ? "–" : "no database") : row.e_above_hull.toFixed(4),
    min_distance: row.min_distance.toFixed(2),
    spacegroup: row.spacegroup === null ? "–" : row.spacegroup,
    sane: verdict(row.sane),
    relaxed: verdict(row.relaxed),
    novel: verdict(row.novel),
    unique: verdict(row.unique),
    phonon_stable: row.phonon_stable === null ? "not checked" : row.phonon_stable ? "stable" : "unstable",
  }));
  const columns = [
    { key: "id", label: "id", text: true }, { key: "formula", label: "formula", text: true },
    { key: "energy_per_atom", label: "energy (eV/atom)" }, { key: "e_above_hull", label: "E above hull (eV/atom)" },
    { key: "min_distance", label: "shortest distance (Å)" }, { key: "spacegroup", label: "space group imposed" }, { key: "sane", label: "sane" }, { key: "relaxed", label: "relaxed" },
    { key: "novel", label: "novel" }, { key: "unique", label: "unique" }, { key: "phonon_stable", label: "phonons" },
  ];
  const results = $("#crystals-results");
  results.innerHTML = `
    <p>${r.rows.length} crystals (click a row to view it; drag the view to rotate). Energies by the oracle (CHGNet).</p>
    ${table(columns, rows)}
    <div class="viewer"><canvas id="crystal-view" width="420" height="420"></canvas>
      <div><p id="crystal-caption"></p><p class="legend" id="crystal-legend"></p><p id="crystal-download"></p></div></div>
    ${downloads(job, ["summary.csv"])}`;
  const view = new CrystalView($("#crystal-view"));
  const select = (i) => {
    results.querySelectorAll("tbody tr").forEach((tr) => tr.classList.toggle("selected", Number(tr.dataset.row) === i));
    const row = r.rows[i];
    view.show(row);
    $("#crystal-caption").textContent = `${row.id}: ${row.formula}, ${row.species.length} atoms${row.relaxed ? ", relaxed" : ", as generated"}`;
    $("#crystal-legend").innerHTML = [...new Set(row.species)]
      .map((e) => `<span><i style="background:${ELEMENT_COLORS[e] || "#888"}"></i>${escape(e)}</span>`).join("");
    $("#crystal-download").innerHTML = `<a href="${fileUrl(job, row.cif)}" download="${escape(row.cif)}">Download ${escape(row.cif)}</a>`;
  };
  results.querySelectorAll("tbody tr").forEach((tr) => tr.addEventListener("click", () => select(Number(tr.dataset.row))));
  if (r.rows.length) select(0);
}

// Atoms as shaded spheres, painted back to front, with the cell's edges; drag to rotate.
class CrystalView {
  constructor(canvas) {
    this.canvas = canvas;
    this.yaw = 0.6;
    this.pitch = 0.35;
    let drag = null;
    canvas.addEventListener("pointerdown", (e) => {
      drag = [e.clientX, e.clientY];
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!drag) return;
      this.yaw += (e.clientX - drag[0]) * 0.01;
      this.pitch = Math.max(-1.5, Math.min(1.5, this.pitch + (e.clientY - drag[1]) * 0.01));
      drag = [e.clientX, e.clientY];
      this.draw();
    });
    canvas.addEventListener("pointerup", () => (drag = null));
  }

  show(row) {
    this.row = row;
    const [a, b, c] = row.lattice;
    const corner = (i, j, k) => [0, 1, 2].map((d) => i * a[d] + j * b[d] + k * c[d]);
    this.corners = [];
    for (const i of [0, 1]) for (const j of [0, 1]) for (const k of [0, 1]) this.corners.push(corner(i, j, k));
    this.edges = [];
    for (let p = 0; p < 8; p++) for (let q = p + 1; q < 8; q++) if ([1, 2, 4].includes(p ^ q)) this.edges.push([p, q]);
    this.center = [0, 1, 2].map((d) => this.corners.reduce((s, v) => s + v[d], 0) / 8);
    this.radius = Math.max(...this.corners.map((v) => Math.hypot(...v.map((x, d) => x - this.center[d]))));
    this.draw();
  }

  project(v) {
    const [x0, y0, z0] = v.map((x, d) => x - this.center[d]);
    const cy = Math.cos(this.yaw), sy = Math.sin(this.yaw), cp = Math.cos(this.pitch), sp = Math.sin(this.pitch);
    const x1 = cy * x0 + sy * z0, z1 = -sy * x0 + cy * z0;
    const y2 = cp * y0 - sp * z1, z2 = sp * y0 + cp * z1;
    const scale = (0.45 * this.canvas.width) / this.radius;
    return [this.canvas.width / 2 + x1 * scale, this.canvas.height / 2 - y2 * scale, z2, scale];
  }

  draw() {
    const ctx = this.canvas.getContext("2d");
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    const corners = this.corners.map((v) => this.project(v));
    ctx.strokeStyle = "#999";
    ctx.lineWidth = 1;
    for (const [p, q] of this.edges) {
      ctx.beginPath();
      ctx.moveTo(corners[p][0], corners[p][1]);
      ctx.lineTo(corners[q][0], corners[q][1]);
      ctx.stroke();
    }
    const atoms = this.row.xyz.map((v, i) => [...this.project(v), this.row.species[i]]).sort((p, q) => p[2] - q[2]);
    for (const [x, y, , scale, element] of atoms) {
      const r = (RADII[element] || 0.7) * scale;
      const color = ELEMENT_COLORS[element] || "#888";
      const shade = ctx.createRadialGradient(x - r / 3, y - r / 3, r / 8, x, y, r);
      shade.addColorStop(0, "#fff");
      shade.addColorStop(0.35, color);
      shade.addColorStop(1, "#222");
      ctx.fillStyle = shade;
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
}
