// The time control: one date for every temporal layer with tiles (sensors installed, works
// started, parcels registered... up to that date), sent as the tiles' `datetime=../date`.

import { el } from "./panel.js";
import { t, tr } from "./i18n.js";

const DAY = 86400000;

function day(text) {
  return Math.floor(Date.parse(text) / DAY);
}

function isoDay(days) {
  return new Date(days * DAY).toISOString().slice(0, 10);
}

export function renderTimeControl(container, config, viewer) {
  const lang = viewer.lang;
  const temporal = config.layers.filter((layer) => layer.time
    && (layer.tiles || layer.raster_tiles) && layer.time.begin);
  container.hidden = !temporal.length;
  if (!temporal.length) return;
  const first = Math.min(...temporal.map((layer) => day(layer.time.begin)));
  const last = Math.max(...temporal.map((layer) => day(layer.time.end)));
  // The slider starts at today within the data's range (planned works may end in the future).
  const current = viewer.date ? day(viewer.date) : Math.min(last, Math.floor(Date.now() / DAY));
  const enabled = el("input", { type: "checkbox", id: "time-enabled" });
  enabled.checked = Boolean(viewer.date);
  const slider = el("input", {
    type: "range", id: "time-slider", min: String(first), max: String(last), step: "1",
    value: String(Math.min(last, Math.max(first, current))), "aria-label": t("time", lang),
  });
  const output = el("output", { for: "time-slider", id: "time-value", text: isoDay(Number(slider.value)) });
  slider.disabled = !enabled.checked;
  let timer = null;
  const apply = () => viewer.setDate(enabled.checked ? isoDay(Number(slider.value)) : null);
  slider.addEventListener("input", () => {
    output.textContent = isoDay(Number(slider.value));
    clearTimeout(timer);
    timer = setTimeout(apply, 300);
  });
  enabled.addEventListener("change", () => {
    slider.disabled = !enabled.checked;
    apply();
  });
  const names = temporal.map((layer) => tr(layer.title, lang)).join(", ");
  container.replaceChildren(
    el("h2", { text: t("time", lang) }),
    el("p", { class: "row" }, [enabled, el("label", { for: "time-enabled", text: t("timeFilter", lang) })]),
    el("p", { class: "row" }, [slider, output]),
    el("p", { class: "hint", text: `${t("timeLayers", lang)}: ${names}` }),
    ...temporal.filter((layer) => layer.scene_dates).map((layer) => el("p", {
      class: "hint scene-dates", text: `${tr(layer.title, lang)}: ${layer.scene_dates.join(", ")}`,
    })),
  );
}
