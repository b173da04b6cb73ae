// The search box: `/search?q=&lang=` as you type, arrow keys and Enter to choose, the map
// flies to the chosen feature and opens its popup.

import { el } from "./panel.js";
import { t } from "./i18n.js";

// One entry per thing: results with the same collection and label (segments of one road)
// are merged, their boxes joined, the first id kept.
export function mergeResults(results) {
  const byKey = new Map();
  for (const result of results) {
    const key = `${result.collection}\u0000${result.label}`;
    const seen = byKey.get(key);
    if (!seen) { byKey.set(key, { ...result, bbox: [...result.bbox] }); continue; }
    seen.bbox = [Math.min(seen.bbox[0], result.bbox[0]), Math.min(seen.bbox[1], result.bbox[1]),
      Math.max(seen.bbox[2], result.bbox[2]), Math.max(seen.bbox[3], result.bbox[3])];
  }
  return [...byKey.values()];
}

// The examples of the placeholder, each a query that finds something in every language.
export const EXAMPLES = { ky: ["Бишкек", "Ош", "ЭМ-01"], ru: ["Бишкек", "Ош", "ЭМ-01"], en: ["Bishkek", "Osh", "ЭМ-01"] };

export function setupSearch(form, config, viewer) {
  const input = form.querySelector("input");
  const list = form.querySelector("[role=listbox]");
  let results = [];
  let active = -1;
  let timer = null;
  let controller = null;

  const close = () => {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    active = -1;
  };
  const highlight = (index) => {
    active = index;
    for (const [i, item] of [...list.querySelectorAll("[role=option]")].entries()) {
      item.setAttribute("aria-selected", String(i === index));
      if (i === index) input.setAttribute("aria-activedescendant", item.id);
    }
  };
  const choose = (result) => {
    close();
    input.value = result.label;
    viewer.flyToResult(result);
  };
  const render = (suggestions = []) => {
    list.replaceChildren();
    if (!results.length) {
      list.append(el("li", { class: "empty", role: "status", text: `${t("noResults", viewer.lang)}: «${input.value.trim()}»` }));
      if (suggestions.length) {
        list.append(el("li", { class: "empty suggestions-title", text: t("closest", viewer.lang) }));
        results = suggestions;
      } else {
        list.append(el("li", { class: "empty", text: `${t("tryExamples", viewer.lang)}: ${EXAMPLES[viewer.lang].join(", ")}` }));
      }
    }
    for (const [i, result] of results.entries()) {
      const item = el("li", {
        id: `search-result-${i}`, role: "option", "aria-selected": "false",
        "data-collection": result.collection, "data-id": result.id,
        onmousedown: (event) => { event.preventDefault(); choose(result); },
      }, [el("span", { class: "result-label", text: result.label }),
        el("span", { class: "result-layer", text: result.layer })]);
      list.append(item);
    }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  };
  const run = async () => {
    const q = input.value.trim();
    if (q.length < 2) { close(); return; }
    if (controller) controller.abort();
    controller = new AbortController();
    const ask = async (text) => {
      const url = `${config.search}?q=${encodeURIComponent(text)}&lang=${viewer.lang}&limit=20`;
      const response = await fetch(url, { signal: controller.signal });
      return response.ok ? mergeResults((await response.json()).results).slice(0, 8) : [];
    };
    try {
      results = await ask(q);
      let suggestions = [];
      if (!results.length) {  // the closest: each longer word alone, then the query shortened
        const tries = [...new Set([...q.split(/\s+/).filter((w) => w.length >= 3), q.slice(0, -1)])];
        for (const text of tries.slice(0, 3)) {
          if (text.length < 2) continue;
          suggestions = mergeResults([...suggestions, ...(await ask(text))]).slice(0, 5);
          if (suggestions.length) break;
        }
      }
      render(suggestions);
    } catch (error) {
      if (error.name !== "AbortError") {
        results = [];
        list.replaceChildren(el("li", { class: "empty", text: t("searchFailed", viewer.lang) }));
        list.hidden = false;
      }
    }
  };

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(run, 250);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && results.length) {
      event.preventDefault();
      highlight((active + 1) % results.length);
    } else if (event.key === "ArrowUp" && results.length) {
      event.preventDefault();
      highlight((active - 1 + results.length) % results.length);
    } else if (event.key === "Escape") {
      close();
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearTimeout(timer);
    if (active < 0) {
      await run();
      if (results.length) choose(results[0]);
    } else if (results[active]) {
      choose(results[active]);
    }
  });
}
