// Shared helpers of the studio pages: API calls, jobs with progress and cancel, SVG plots,
// tables and download links. No dependencies, no build step.

export const $ = (selector, root = document) => root.querySelector(selector);

export function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// fetch JSON; a non-2xx answer throws an Error carrying the server's one-line message
export async function api(path, options = {}) {
  const init = { ...options };
  if (options.json !== undefined) {
    init.method = init.method || "POST";
    init.headers = { "Content-Type": "application/json" };
    init.body = JSON.stringify(options.json);
  }
  const response = await fetch(path, init);
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  }
  return body;
}

// the values of a form's named inputs: numbers as numbers, empty as null, checkboxes as booleans
export function formValues(form) {
  const out = {};
  for (const input of form.querySelectorAll("[name]")) {
    if (input.type === "checkbox") out[input.name] = input.checked;
    else if (input.type === "number" || input.tagName === "SELECT" && /^\d+$/.test(input.value))
      out[input.name] = input.value === "" ? null : Number(input.value);
    else out[input.name] = input.value;
  }
  return out;
}

// Run a job of `kind` with `body` in the panel `panel` (progress bar, state, cancel button,
// error); call onDone(job) when it finishes. Errors (bad input, a failed job) are shown in
// the panel as one line.
export async function runJob(kind, body, panel, onDone) {
  panel.innerHTML = "";
  const bar = document.createElement("progress");
  const state = document.createElement("span");
  state.className = "state";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "cancel";
  cancel.textContent = "Cancel";
  const error = document.createElement("p");
  error.className = "error";
  error.setAttribute("role", "alert");
  error.hidden = true;
  const fail = (message) => {
    bar.remove();
    cancel.remove();
    state.textContent = "";
    error.textContent = message;
    error.hidden = false;
  };
  panel.append(bar, state, cancel, error);
  state.textContent = "starting";
  let job;
  try {
    job = await api(`/api/${kind}/design`, { json: body });
  } catch (err) {
    fail(err.message);
    return;
  }
  cancel.onclick = () => api(`/api/jobs/${job.id}/cancel`, { method: "POST" }).catch(() => {});
  const started = performance.now();
  while (true) {
    try {
      job = await api(`/api/jobs/${job.id}`);
    } catch (err) {
      fail(err.message);
      return;
    }
    const { done, total } = job.progress;
    if (total > 0) {
      bar.max = total;
      bar.value = done;
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    state.textContent = `${job.state}, ${seconds} s`;
    if (job.state === "done") {
      bar.value = bar.max;
      cancel.remove();
      onDone(job);
      return;
    }
    if (job.state === "failed") {
      fail(job.error);
      return;
    }
    if (job.state === "cancelled") {
      bar.remove();
      cancel.remove();
      state.textContent = "cancelled";
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export function fileUrl(job, name) {
  return `/api/jobs/${job.id}/files/${encodeURIComponent(name)}`;
}

export function downloads(job, names) {
  const links = names
    .filter((name) => job.files.includes(name))
    .map((name) => `<a href="${fileUrl(job, name)}" download="${escape(name)}">${escape(name)}</a>`);
  return `<p class="downloads">Download: ${links.join("")}</p>`;
}

export function table(columns, rows, format = (v) => v) {
  const head = columns.map((c) => `<th class="${c.text ? "text" : ""}">${escape(c.label)}</th>`);
  const body = rows.map(
    (row, i) =>
      `<tr data-row="${i}">` +
      columns
        .map((c) => `<td class="${c.text ? "text" : ""}">${escape(format(row[c.key], c.key))}</td>`)
        .join("") +
      "</tr>",
  );
  return `<table><thead><tr>${head.join("")}</tr></thead><tbody>${body.join("")}</tbody></table>`;
}

export const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

function ticks(low, high, count = 5) {
  const step = Math.pow(10, Math.floor(Math.log10((high - low) / count || 1)));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => (high - low) / s <= count) || step;
  const out = [];
  for (let t = Math.ceil(low / nice) * nice; t <= high + 1e-9; t += nice) out.push(+t.toFixed(10));
  return out;
}

// An SVG plot. options: width, height, xlim, ylim, xlabel, ylabel, series (list of
// {x, y, color, label, dash, line, dots}). Returns {svg, toX, toY, fromX, fromY, margin}.
export function plot(options) {
  const { width = 460, height = 320, xlim, ylim, xlabel = "", ylabel = "" } = options;
  const m = { left: 56, right: 12, top: 12, bottom: 42 };
  const toX = (x) => m.left + ((x - xlim[0]) / (xlim[1] - xlim[0])) * (width - m.left - m.right);
  const toY = (y) => height - m.bottom - ((y - ylim[0]) / (ylim[1] - ylim[0])) * (height - m.top - m.bottom);
  const fromX = (px) => xlim[0] + ((px - m.left) / (width - m.left - m.right)) * (xlim[1] - xlim[0]);
  const fromY = (py) => ylim[0] + ((height - m.bottom - py) / (height - m.top - m.bottom)) * (ylim[1] - ylim[0]);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`];
  for (const t of ticks(xlim[0], xlim[1])) {
    parts.push(`<line x1="${toX(t)}" x2="${toX(t)}" y1="${m.top}" y2="${height - m.bottom}" stroke="#eee"/>`,
      `<text x="${toX(t)}" y="${height - m.bottom + 15}" font-size="11" text-anchor="middle">${t}</text>`);
  }
  for (const t of ticks(ylim[0], ylim[1])) {
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${toY(t)}" y2="${toY(t)}" stroke="#eee"/>`,
      `<text x="${m.left - 6}" y="${toY(t) + 4}" font-size="11" text-anchor="end">${t}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${width - m.left - m.right}" height="${height - m.top - m.bottom}" fill="none" stroke="#999"/>`,
    `<text x="${(m.left + width - m.right) / 2}" y="${height - 6}" font-size="12" text-anchor="middle">${escape(xlabel)}</text>`,
    `<text transform="translate(14 ${(m.top + height - m.bottom) / 2}) rotate(-90)" font-size="12" text-anchor="middle">${escape(ylabel)}</text>`);
  let legendY = m.top + 14;
  for (const s of options.series || []) {
    const points = s.x.map((x, i) => [x, s.y[i]]).filter(([, y]) => y !== null && y !== undefined);
    const color = s.color || "#000";
    if (s.line !== false && points.length > 1) {
      const d = points.map(([x, y], i) => `${i ? "L" : "M"}${toX(x).toFixed(1)},${toY(y).toFixed(1)}`).join("");
      parts.push(`<path class="${s.cls || ""}" d="${d}" fill="none" stroke="${color}" stroke-width="${s.width || 1.5}" ${s.dash ? `stroke-dasharray="${s.dash}"` : ""}/>`);
    }
    if (s.dots) {
      for (const [x, y] of points) parts.push(`<circle cx="${toX(x).toFixed(1)}" cy="${toY(y).toFixed(1)}" r="${s.radius || 2.5}" fill="${color}" fill-opacity="0.8"/>`);
    }
    if (s.label) {
      parts.push(`<line x1="${m.left + 8}" x2="${m.left + 26}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${color}" stroke-width="2"/>`,
        `<text x="${m.left + 30}" y="${legendY}" font-size="11">${escape(s.label)}</text>`);
      legendY += 14;
    }
  }
  parts.push("</svg>");
  return { svg: parts.join(""), toX, toY, fromX, fromY, margin: m };
}
