// Live views of helpers.widgets (anywidget). No dependencies and nothing fetched: this file ships in the package,
// and reaches a page once per kernel, with its first view (helpers/widgets/_live.py: views_code).
//
// The kernel sends {seq, o: ops, f?: live figures, end?: final state} as custom messages, and the commonest one,
// more text for the field the last "+" op appended to, as [seq, text]. `initialize` applies the ops to the model's
// state, once per model (the same four ops as helpers/widgets/_live.py); every view of the model then redraws
// incrementally from that state, appending only what is new. A gap in `seq` (this page connected late, or reloaded
// mid-stream) asks the kernel for the whole state.

// TABLES (written above this file by helpers/widgets/_live.py from helpers/widgets/tables.py): the block types and
// their renderers, the event types with a colour, the stop reasons that need a notice. A type from the stream is
// only ever a key into them: what is not there is drawn by the plain renderer and shown as text.
const lookup = (table, key) => (typeof key === "string" && Object.hasOwn(table, key) ? table[key] : undefined);
const blockKind = (type) => lookup(TABLES.blocks, type) || { role: "other", field: null };
const eventClass = (type) => `cw-t-${TABLES.events.includes(type) ? type : "other"}`;
const stopOf = (reason) => lookup(TABLES.stops, reason) || { word: "", notice: "" };
// What a finished text block's rendered markdown may hold (helpers/widgets/_static.py sanitized it with nh3 already;
// this second pass keeps the same allowlist here, so the browser never trusts markup it did not check).
const TAGS = new Set("p br hr em strong del code pre blockquote ul ol li a h1 h2 h3 h4 h5 h6 table thead tbody tr th td b small span div".split(" "));
const LINK = /^(https?:\/\/|mailto:)/i;
const MAX_ROWS = 2000; // event rows drawn; the counts above the table stay complete

function applyOps(model, ops) {
  let blocks = model.get("blocks") || [];
  let items = model.get("items") || [];
  const next = {};
  for (const op of ops) {
    if (op[0] === "r") {
      if (!next.items) items = next.items = items.slice();
      items.push(op[1]);
      continue;
    }
    if (!next.blocks) blocks = next.blocks = blocks.slice();
    if (op[0] === "b") blocks.push({ ...op[1] });
    else if (op[0] === "+") blocks[op[1]] = { ...blocks[op[1]], [op[2]]: (blocks[op[1]][op[2]] || "") + op[3] };
    else if (op[0] === "=") blocks[op[1]] = { ...blocks[op[1]], [op[2]]: op[3] };
    else if (op[0] === "a") blocks[op[1]] = { ...blocks[op[1]], [op[2]]: [...(blocks[op[1]][op[2]] || []), op[3]] };
  }
  return next;
}

// `early`: messages that reached a later view while it waited for this code (helpers/widgets/loader.js)
function initialize({ model }, early = []) {
  const queue = [];
  let target = null; // [block, field] of the last "+" op applied: where a short message's text goes
  let waiting = false; // a resync was asked for: only the kernel changes `seq` until it answers
  const drain = () => {
    queue.sort((a, b) => a.seq - b.seq);
    while (queue.length) {
      const msg = queue[0];
      const have = model.get("seq") || 0;
      if (msg.seq <= have) {
        queue.shift();
        continue;
      }
      if (msg.seq !== have + 1 || (!msg.o && !target)) return false; // a gap, or text for a field not seen here
      queue.shift();
      const ops = msg.o || [["+", ...target, msg.t]];
      for (const op of ops) if (op[0] === "+") target = [op[1], op[2]];
      const next = applyOps(model, ops);
      next.seq = msg.seq;
      if (msg.f) next.figures = msg.f;
      if (msg.end) Object.assign(next, msg.end);
      model.set(next); // local only: the kernel holds the same state
    }
    return true;
  };
  const resync = () => {
    if (drain()) return;
    waiting = true;
    model.set("resyncs", (model.get("resyncs") || 0) + 1);
    model.send({ resync: model.get("seq") || 0 });
  };
  const receive = (msg) => {
    if (Array.isArray(msg) && typeof msg[0] === "number") msg = { seq: msg[0], t: msg[1] };
    if (!msg || typeof msg.seq !== "number") return;
    queue.push(msg);
    if (!waiting) resync();
  };
  model.on("msg:custom", receive);
  early.forEach(receive);
  model.on("change:seq", () => {
    if (!waiting) return;
    waiting = false;
    resync();
  });
}

// -- small DOM helpers ---------------------------------------------------------------------------------------------

// Names from the stream (types, tool names, ids) with their invisible characters shown as escapes: U+202E in a name
// would reverse the rest of the line ("gnp.exe" shown as "exe.png"), a zero-width or tag character would make
// "get_weather" + an invisible letter pass for "get_weather". Answer text is shown as it came.
const HIDDEN = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u{e0000}-\u{e007f}]/gu; // as _static.visible
function ident(value) {
  return String(value).replace(HIDDEN, (c) => {
    const code = c.codePointAt(0);
    return code > 0xffff ? `\\U${code.toString(16).padStart(8, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

function h(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

// A copy of rendered markdown, element by element through the allowlist: only tags, text and safe links survive.
function safeCopy(source) {
  const copy = (node, parent) => {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) parent.append(child.data);
      else if (child.nodeType === Node.ELEMENT_NODE) {
        const tag = child.tagName.toLowerCase();
        if (!TAGS.has(tag)) {
          parent.append(child.textContent);
          continue;
        }
        const el = document.createElement(tag);
        const href = child.getAttribute("href");
        if (tag === "a" && href && LINK.test(href)) {
          el.href = href;
          el.rel = "noopener noreferrer nofollow";
          el.target = "_blank";
        }
        copy(child, el);
        parent.append(el);
      }
    }
  };
  const out = document.createDocumentFragment();
  copy(source, out);
  return out;
}

// Where a live view renders, its static rendering (left for GitHub, nbconvert and notebooks saved without widget
// state) is hidden, so each answer shows once: one CSS rule per view, naming it by its id.
function hideStatic(id) {
  if (!/^[0-9a-f]{32}$/.test(id || "")) return;
  let style = document.getElementById("cw-hide-static");
  if (!style) {
    style = document.createElement("style");
    style.id = "cw-hide-static";
    document.head.append(style);
  }
  if (style.dataset[`v${id}`]) return;
  style.dataset[`v${id}`] = "1";
  const statics = [`.cw-static[data-cw-view~="${id}"]`, `img[src*="${id}"]`];
  style.append(
    `${statics.join(", ")} { display: none !important; }\n` +
      statics.map((sel) => `.jp-OutputArea-child:has(${sel})`).join(", ") +
      " { display: none !important; }\n",
  );
}

function duration(ms) {
  if (ms === null || ms === undefined) return "–";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function figuresLine(model, chars) {
  const f = model.get("figures") || {};
  const foot = model.get("footer") || {};
  const parts = [];
  // TTFT: from the request to the first token of any kind (helpers/widgets/_live.py: LiveView._figures)
  if (f.ttft_ms !== undefined && f.ttft_ms !== null)
    parts.push(`TTFT ${duration(f.ttft_ms)}${f.first_text_ms ? ` (thinking) · first text ${duration(f.first_text_ms)}` : ""}`);
  if (f.tok_s) parts.push(`${f.estimated ? "≈ " : ""}${f.tok_s} tok/s`);
  if (foot.output_tokens !== undefined && foot.output_tokens !== null) parts.push(`${foot.output_tokens} output tokens`);
  else if (chars !== undefined || f.chars) parts.push(`${chars !== undefined ? chars : f.chars} chars`);
  if (f.elapsed_ms !== undefined && f.elapsed_ms !== null) parts.push(`elapsed ${duration(f.elapsed_ms)}`);
  if (foot.stop_reason) parts.push(`stop_reason ${foot.stop_reason}`);
  if (foot.input_tokens !== undefined && foot.input_tokens !== null)
    parts.push(`usage ${foot.input_tokens} in / ${foot.output_tokens} out${foot.thinking_tokens ? ` (${foot.thinking_tokens} thinking)` : ""}`);
  if (foot.cache_creation_input_tokens || foot.cache_read_input_tokens)
    parts.push(`cache ${foot.cache_creation_input_tokens || 0} written / ${foot.cache_read_input_tokens || 0} read`);
  for (const [name, n] of Object.entries(foot.server_tool_use || {})) parts.push(`${name} ${n}`);
  return parts.join(" · ");
}

function frame(model, root) {
  const head = h("div", "cw-head");
  const title = h("span", "cw-title", model.get("title") || "");
  const status = h("span", "cw-status");
  head.append(title, status);
  const banner = h("div", "cw-banner");
  const foot = h("div", "cw-foot");
  const notice = h("div", "cw-notice");
  // announced to screen readers when the answer completes (the text itself is not read token by token)
  const live = h("div", "cw-sr");
  live.setAttribute("role", "status");
  live.setAttribute("aria-live", "polite");
  return { head, status, banner, notice, foot, live };
}

function updateFrame(model, root, parts, chars) {
  const status = model.get("status");
  root.dataset.status = status;
  root.dataset.resyncs = String(model.get("resyncs") || 0);
  const stop = (model.get("footer") || {}).stop_reason;
  // a refusal or a pause is not "done": the header says what happened (the notice below says what to do)
  const ended = stopOf(stop).word;
  parts.status.textContent = status === "done" ? (ended ? `■ ${ended}` : "✓ done") : status === "streaming" ? "● streaming" : status;
  const error = model.get("error");
  parts.banner.textContent = error ? (status === "stopped" ? "■ Stopped" : `⚠ ${error}`) : "";
  parts.banner.style.display = error ? "" : "none";
  parts.foot.textContent = figuresLine(model, chars);
  const foot = model.get("footer") || {};
  let said = "";
  if (status === "done" && foot.stop_reason === "refusal") {
    const d = foot.stop_details || {};
    said = `Refused${d.category ? ` (${d.category})` : ""}${d.explanation ? `: ${String(d.explanation).replace(/\.$/, "")}` : ""}. What arrived before the refusal stays above.`;
  } else if (status === "done" && stopOf(foot.stop_reason).notice) said = stopOf(foot.stop_reason).notice;
  parts.notice.textContent = said;
  parts.notice.style.display = said ? "" : "none";
  const announced = status === "streaming" ? "" : `${model.get("title") || "answer"} ${status === "done" ? ended || "complete" : status}: ${chars === undefined ? "" : chars + " chars. "}${error || ""}`;
  if (parts.live.textContent !== announced) parts.live.textContent = announced + (said ? ` ${said}` : "");
}

// -- text, thinking, tool input and timeline ---------------------------------------------------------------------

function makeBlock(block, parent, kind) {
  const { role, field } = blockKind(block.type);
  const rec = { type: block.type, role, nodes: {}, lens: {} };
  if (role === "redacted" || role === "result" || role === "other") {
    rec.el = h("div", `cw-block ${role === "redacted" ? "cw-thinking" : "cw-result"}`);
    rec.label = h("div", "cw-label");
    rec.list = h("ul", "cw-results");
    rec.el.append(rec.label, rec.list);
  } else if (role === "thinking") {
    rec.el = h("details", "cw-block cw-thinking");
    rec.el.open = true;
    rec.summary = h("summary", "", "Thinking…");
    const body = h("div", "cw-thinking-text cw-live");
    rec.el.append(rec.summary, body);
    rec.target = body;
  } else if (role === "tool" || (kind === "structured" && role === "text")) {
    rec.el = h("div", "cw-block cw-tool");
    rec.name = h("div", "cw-tool-name");
    const cols = h("div", "cw-tool-cols");
    const raw = h("div", "cw-tool-col");
    rec.target = h("pre", "cw-json-raw cw-live");
    const rawLabel = role === "text" ? "text (raw JSON, as it arrives)" : "partial_json (raw, as it arrives)";
    raw.append(h("div", "cw-label", rawLabel), rec.target);
    const snap = h("div", "cw-tool-col");
    rec.snapshot = h("pre", "cw-json-snap");
    const snapLabel = role === "text" ? "parsed_snapshot() (grows with each delta)" : "snapshot (parsed by the SDK)";
    snap.append(h("div", "cw-label", snapLabel), rec.snapshot);
    cols.append(raw, snap);
    rec.trunc = h("div", "cw-trunc", "⚠ Cut off by max_tokens: this input is incomplete. Check stop_reason before running a tool.");
    rec.el.append(rec.name, cols, rec.trunc);
  } else {
    rec.el = h("div", "cw-block cw-text");
    rec.target = h("div", "cw-live");
    rec.cites = h("ol", "cw-cites");
    rec.el.append(rec.target, rec.cites);
  }
  if (field) {
    rec.nodes[field] = document.createTextNode("");
    rec.lens[field] = 0;
    rec.target.append(rec.nodes[field]);
  }
  parent.append(rec.el);
  return rec;
}

function updateBlock(rec, block, isLast) {
  const field = blockKind(block.type).field;
  if (field) {
    const value = String(block[field] || "");
    const node = rec.nodes[field];
    if (value.length >= rec.lens[field]) node.appendData(value.slice(rec.lens[field]));
    else node.data = value; // the state was replaced by a resync
    rec.lens[field] = value.length;
  }
  if (rec.role === "redacted") {
    rec.label.textContent = `Redacted thinking · ${block.data_chars || 0} chars of encrypted data, sent back unchanged next turn`;
  } else if (rec.role === "other") {
    rec.label.textContent = `${ident(block.type)} block (not shown by this view)`;
  } else if (rec.role === "result") {
    const results = Array.isArray(block.results) ? block.results : [];
    if (rec.list.childElementCount !== results.length) {
      rec.label.textContent = `${ident(block.type)} · ${results.length} result(s)`;
      rec.list.textContent = "";
      for (const r of results) rec.list.append(h("li", "", r.url ? `${r.title} — ${r.url}` : `${r.title}`));
    }
  } else if (rec.role === "thinking") {
    const sig = block.signature ? ` · ✓ signature received (${block.signature} chars)` : "";
    const omitted = !(block.thinking || "").length && block.signature ? " · omitted (display: omitted)" : "";
    rec.summary.textContent = `Thinking · ${(block.thinking || "").length} chars${sig}${omitted}`;
    if (!isLast && !rec.closed) {
      rec.el.open = false; // the answer has started: fold the thinking away (click to open)
      rec.closed = true;
    }
  } else if (rec.snapshot) {
    const label = rec.role === "text" ? "structured output" : block.type === "server_tool_use" ? "server tool (runs on Anthropic's side)" : ident(block.type);
    rec.name.textContent = `${label} · ${block.name ? ident(block.name) : rec.role === "text" ? "JSON" : "?"}${block.id ? " · " + ident(block.id) : ""}`;
    rec.snapshot.textContent = JSON.stringify(block.snapshot || {}, null, 2);
    rec.trunc.style.display = block.truncated ? "" : "none";
    rec.el.classList.toggle("cw-truncated", !!block.truncated);
  } else if (rec.cites && (block.citations || []).length !== rec.cites.childElementCount) {
    rec.cites.textContent = "";
    for (const c of block.citations || []) {
      const li = h("li", "", `[${c.n}] ${c.title}${c.url ? " — " + c.url : ""} — “${c.cited_text}”`);
      rec.cites.append(li);
    }
  }
}

// Once the answer is complete, each text block shows its markdown rendered. The kernel renders it once, into the
// static rendering it leaves below the view (sanitized, named "VIEW:INDEX"); the view copies it from there rather
// than have it sent twice. The static output arrives just after the view's last message, so look for a few seconds.
function adoptRendered(model, shown, tries = 25) {
  const id = model.get("view_id");
  let missing = false;
  shown.forEach((rec, i) => {
    if (rec.role !== "text" || rec.rendered || rec.snapshot) return; // structured output keeps its two columns
    const source = document.querySelector(`.cw-static [data-cw-block="${id}:${i}"]`);
    if (!source) {
      missing = true;
      return;
    }
    rec.rendered = h("div", "cw-md");
    rec.rendered.append(safeCopy(source));
    rec.target.hidden = true;
    rec.cites.hidden = true; // the rendering carries the references too
    rec.el.append(rec.rendered);
  });
  if (missing && tries > 0) setTimeout(() => adoptRendered(model, shown, tries - 1), 200);
}

function messageView(model, root) {
  const parts = frame(model, root);
  const body = h("div", "cw-body");
  const blocksEl = h("div", "cw-blocks");
  const svgEl = h("div", "cw-svg");
  body.append(blocksEl, svgEl);
  root.append(parts.head, body, parts.notice, parts.banner, parts.foot, parts.live);
  const kind = model.get("kind");
  const shown = [];
  let adopting = false;
  return () => {
    const blocks = model.get("blocks") || [];
    if (blocks.length < shown.length || blocks.some((b, i) => shown[i] && shown[i].type !== b.type)) {
      blocksEl.textContent = "";
      shown.length = 0;
    }
    blocks.forEach((block, i) => {
      if (!shown[i]) shown[i] = makeBlock(block, blocksEl, kind);
      updateBlock(shown[i], block, i === blocks.length - 1);
    });
    const svg = model.get("svg");
    if (svg && svgEl.dataset.drawn !== "1") {
      svgEl.innerHTML = svg; // drawn by helpers/widgets/_static.py from numbers only
      svgEl.dataset.drawn = "1";
    }
    const chars = blocks.reduce((n, b) => n + (blockKind(b.type).role === "text" ? String(b.text || "").length : 0), 0);
    updateFrame(model, root, parts, chars);
    if (!adopting && model.get("status") !== "streaming" && /^[0-9a-f]{32}$/.test(model.get("view_id") || "")) {
      adopting = true;
      adoptRendered(model, shown);
    }
  };
}

// -- raw events --------------------------------------------------------------------------------------------------

function eventsView(model, root) {
  const parts = frame(model, root);
  const body = h("details", "cw-body");
  body.open = true;
  const summary = h("summary", "cw-counts");
  const table = h("table", "cw-events");
  const thead = h("thead");
  const tr = h("tr");
  for (const name of ["time", "type", "index", "delta / block", "payload"]) tr.append(h("th", "", name));
  thead.append(tr);
  const tbody = h("tbody");
  table.append(thead, tbody);
  const more = h("div", "cw-more");
  body.append(summary, table, more);
  root.append(parts.head, body, parts.banner, parts.foot, parts.live);
  let drawn = 0;
  let counts = new Map();
  return () => {
    const rows = model.get("items") || [];
    if (rows.length < drawn) {
      tbody.textContent = "";
      drawn = 0;
      counts = new Map();
    }
    for (let i = drawn; i < rows.length; i++) {
      const [t, type, index, deltaType, payload] = rows[i];
      counts.set(type, (counts.get(type) || 0) + 1);
      if (i >= MAX_ROWS) continue;
      const row = h("tr", eventClass(type));
      row.append(h("td", "cw-time", `+${duration(t)}`), h("td", "cw-type", ident(type)), h("td", "", String(index)), h("td", "", ident(deltaType)), h("td", "cw-payload", String(payload)));
      tbody.append(row);
    }
    drawn = rows.length;
    summary.textContent = "";
    summary.append(h("b", "", `${rows.length} events `));
    for (const [type, n] of counts) summary.append(h("span", `cw-badge ${eventClass(type)}`, `${type} ${n}`));
    more.textContent = rows.length > MAX_ROWS ? `… ${rows.length - MAX_ROWS} more rows not drawn (the counts include them)` : "";
    updateFrame(model, root, parts);
  };
}

function render({ model, el }) {
  const kind = model.get("kind");
  const root = h("div", `cw cw-kind-${TABLES.kinds.includes(kind) ? kind : "text"}`);
  root.dataset.title = model.get("title") || "";
  el.append(root);
  hideStatic(model.get("view_id"));
  const update = kind === "events" ? eventsView(model, root) : messageView(model, root);
  let scheduled = false;
  const redraw = () => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      update();
    });
  };
  for (const name of ["blocks", "items", "status", "error", "footer", "figures", "svg"]) model.on(`change:${name}`, redraw);
  update();
}

export default { initialize, render };
