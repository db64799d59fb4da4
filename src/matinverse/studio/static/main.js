// The studio's entry point: tabs (one page per problem, by URL hash) and the pages' set-up
// from /api/info.
import { $, api } from "./common.js";
import { setupCompositions } from "./compositions.js";
import { setupCrystals } from "./crystals.js";
import { setupGraphene } from "./graphene.js";
import { setupPorous } from "./porous.js";
import { setupStrain } from "./strain.js";

function route() {
  const page = (location.hash || "#porous").slice(1);
  document.querySelectorAll(".page").forEach((p) => p.classList.toggle("active", p.id === `page-${page}`));
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === page));
}

async function start() {
  window.addEventListener("hashchange", route);
  route();
  $("#server").textContent = `server ${location.host}`;
  let info;
  try {
    info = await api("/api/info");
  } catch (err) {
    $("#info-error").textContent = `cannot reach the studio server: ${err.message}`;
    $("#info-error").hidden = false;
    return;
  }
  setupPorous(info.porous);
  setupStrain(info.strain);
  setupCompositions();
  setupGraphene(info.graphene);
  setupCrystals(info.crystals);
  document.body.dataset.ready = "true";
}

start();
