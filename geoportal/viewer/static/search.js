// The search box: `/search?q=&lang=` as you type, arrow keys and Enter to choose, the map
// flies to the chosen feature and opens its popup.

import { el } from "./panel.js";
import { t } from "./i18n.js";

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
    for (const [i, item] of [...list.children].entries()) {
      item.setAttribute("aria-selected", String(i === index));
      if (i === index) input.setAttribute("aria-activedescendant", item.id);
    }
  };
  const choose = (result) => {
    close();
    input.value = result.label;
    viewer.flyToResult(result);
  };
  const render = () => {
    list.replaceChildren();
    if (!results.length) {
      list.append(el("li", { class: "empty", text: t("noResults", viewer.lang) }));
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
    const url = `${config.search}?q=${encodeURIComponent(q)}&lang=${viewer.lang}&limit=8`;
    try {
      const response = await fetch(url, { signal: controller.signal });
      results = response.ok ? (await response.json()).results : [];
      render();
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
