// The instructor's dashboard: one row per learner from the gateway's live state (SSE), and the class controls.
// Everything from the state (names, lessons, exercise names, error messages) is data: it goes in with textContent.
"use strict";

const $ = (selector) => document.querySelector(selector);
let state = null;
let picked = false; // the instructor chose a mode in the list and has not sent it yet: updates must not undo that

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

async function control(body) {
  const response = await fetch("control", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  const answer = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  $("#message").textContent = response.ok ? "" : answer.error || `HTTP ${response.status}`;
  if (response.ok) render(answer);
}

function verdicts(list) {
  const cell = el("td");
  if (!list.length) cell.append(el("span", "none yet"));
  for (const v of list.slice(0, 3)) {
    const line = el("span", `${v.verdict}: ${v.exercise}`, `verdict verdict-${v.verdict.replace(" ", "-")}`);
    line.title = v.lesson;
    cell.append(line);
  }
  return cell;
}

function tokens(learner) {
  const cell = el("td", `${learner.tokens.toLocaleString("en")} / ${learner.budget.toLocaleString("en")}`, "num");
  if (learner.tokens >= learner.budget) cell.classList.add("over");
  const bar = el("span", undefined, "bar");
  const fill = el("span");
  fill.style.width = `${Math.min(100, (100 * learner.tokens) / Math.max(1, learner.budget))}%`;
  bar.append(fill);
  cell.append(bar);
  return cell;
}

function raiseBudget(learner) {
  const cell = el("td");
  const form = el("form");
  const id = `raise-${learner.name}`;
  const input = el("input");
  Object.assign(input, { id, type: "number", min: "1", step: "1", value: "10000", required: true });
  input.setAttribute("aria-label", `Tokens to add for ${learner.name}`);
  const button = el("button", "Raise");
  button.type = "submit";
  button.setAttribute("aria-label", `Raise ${learner.name}'s budget`);
  form.append(input, button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    control({ action: "budget", learner: learner.name, tokens: Number(input.value) });
  });
  cell.append(form);
  return cell;
}

function cells(learner) {
  const name = el("th", learner.name);
  name.scope = "row";
  const error = el("td", learner.error_type ? `${learner.error_type}: ${learner.error}` : "none", learner.error_type ? "error" : "");
  return [name, el("td", learner.lesson || "—"), verdicts(learner.verdicts), el("td", learner.streams, "num"), tokens(learner), error];
}

function row(learner) {
  const tr = el("tr");
  tr.dataset.learner = learner.name;
  tr.append(...cells(learner), raiseBudget(learner));
  return tr;
}

// Rows are updated in place: their data cells are replaced, their budget form is kept (the same nodes), so a value
// being typed, and the focus on its field or its button, survive the updates that arrive with every request.
function renderRows(learners) {
  const tbody = $("#learners tbody");
  const existing = new Map([...tbody.rows].map((tr) => [tr.dataset.learner, tr]));
  const rows = learners.map((learner) => {
    const tr = existing.get(learner.name);
    if (!tr) return row(learner);
    cells(learner).forEach((cell, i) => tr.replaceChild(cell, tr.children[i]));
    return tr;
  });
  if (rows.length !== tbody.rows.length || rows.some((tr, i) => tr !== tbody.rows[i])) tbody.replaceChildren(...rows);
}

function render(next) {
  state = next;
  // The list follows the class's mode, except while it holds an unsent choice: a live update (one arrives with every
  // learner's request) used to rebuild it whenever it was not focused, so a choice made before clicking elsewhere
  // was silently replaced by the current mode, and "Switch mode" then sent the mode the class was already in.
  const select = $("#mode");
  if (select.dataset.modes !== next.modes.join(" ")) {
    const choice = select.value;
    select.replaceChildren(...next.modes.map((m) => Object.assign(el("option", m), { value: m })));
    select.dataset.modes = next.modes.join(" ");
    picked = picked && next.modes.includes(choice);
    if (picked) select.value = choice;
  }
  if (!picked) select.value = next.mode;
  const pause = $("#pause");
  pause.setAttribute("aria-pressed", String(next.paused));
  pause.textContent = next.paused ? "Resume every stream" : "Pause every stream";
  const l = next.limits;
  $("#limits").textContent = `Mode ${next.mode}${next.paused ? " (paused)" : ""} · per learner: ${l.streams} stream(s) at once, ${l.per_minute} requests a minute, ${l.tokens.toLocaleString("en")} tokens this session`;
  renderRows(next.learners);
}

function connect() {
  const source = new EventSource("events");
  source.addEventListener("state", (event) => {
    $("#connection").textContent = "Live";
    render(JSON.parse(event.data));
  });
  source.onerror = () => {
    $("#connection").textContent = "Reconnecting…";
  };
}

document.addEventListener("DOMContentLoaded", () => {
  $("#mode").addEventListener("change", () => {
    picked = !state || $("#mode").value !== state.mode;
  });
  $("#mode-form").addEventListener("submit", (event) => {
    event.preventDefault();
    picked = false; // sent: from now on the list shows what the class is in (the new mode, or the old one if refused)
    control({ action: "mode", mode: $("#mode").value });
  });
  $("#pause").addEventListener("click", () => control({ action: "pause", paused: !(state && state.paused) }));
  connect();
});
