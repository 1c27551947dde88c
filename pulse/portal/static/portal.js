// A little help on the subscription and alert rule forms; every page works without it.
"use strict";
document.documentElement.classList.add("js");

function showMatching(selector, attribute, value) {
  document.querySelectorAll(selector).forEach((el) => {
    el.classList.toggle("shown", el.getAttribute(attribute).split(" ").includes(value));
  });
}

function audience() {
  const kind = document.getElementById("report_kind");
  const preset = document.getElementById("preset");
  if (!kind || !preset) return;
  for (const option of preset.options) {
    option.disabled = !option.dataset.kinds.split(" ").includes(kind.value);
  }
  if (preset.selectedOptions[0] && preset.selectedOptions[0].disabled) {
    const first = Array.from(preset.options).find((o) => !o.disabled);
    if (first) preset.value = first.value;
  }
  showMatching(".choice", "data-preset", preset.value);
}

function ruleKind() {
  // only the chosen kind's parameters (the server reads only those; without script all are shown)
  const kind = document.getElementById("rule_kind");
  if (kind) showMatching(".params", "data-kind", kind.value);
}

let pending = null;
function schedule() {
  const form = document.getElementById("subscription-form");
  const frequency = document.getElementById("frequency");
  if (!form || !frequency) return;
  showMatching(".when", "data-frequency", frequency.value);
  const data = new FormData(form);
  const query = new URLSearchParams();
  for (const name of ["frequency", "day", "weekday", "time", "cron", "time_zone"]) query.set(name, data.get(name) || "");
  clearTimeout(pending);
  pending = setTimeout(async () => {
    const list = document.getElementById("fires");
    const answer = await fetch("/portal/schedule?" + query.toString(), { credentials: "same-origin" });
    const body = await answer.json();
    list.replaceChildren(...(body.fires || [Object.values(body.errors || {}).join("; ")]).map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }));
  }, 200);
}

document.addEventListener("DOMContentLoaded", () => {
  audience();
  schedule();
  ruleKind();
  document.getElementById("rule_kind")?.addEventListener("change", ruleKind);
  document.getElementById("report_kind")?.addEventListener("change", audience);
  document.getElementById("preset")?.addEventListener("change", audience);
  document.getElementById("schedule")?.addEventListener("input", schedule);
  document.getElementById("schedule")?.addEventListener("change", schedule);
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
});
