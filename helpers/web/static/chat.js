// The chat page: POST the whole conversation to `chat` and read the answer, a stream of Server-Sent Events,
// with fetch and a ReadableStream reader. Events: text {text}, stop {stop_reason, usage}, error {type, message}, done.
"use strict";

const messages = []; // the conversation so far; every turn sends all of it
let controller = null; // aborts the request in flight (the Stop button)

const $ = (id) => document.getElementById(id);

// sseParser(onEvent) comes from sse.js, loaded before this file.

function addEntry(role, text) {
  const item = document.createElement("li");
  item.className = role;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = role === "user" ? "You" : "Claude";
  const body = document.createElement("div");
  body.className = "text";
  body.textContent = text;
  const meta = document.createElement("span");
  meta.className = "meta";
  item.append(who, body, meta);
  $("log").append(item);
  return { item, body, meta };
}

function showError({ type, message }) {
  const banner = $("error");
  banner.textContent = `${message} (${type}). Any partial answer is kept above.`;
  banner.hidden = false;
}

function setBusy(busy) {
  $("send").disabled = busy;
  $("stop").disabled = !busy;
  $("log").setAttribute("aria-busy", String(busy)); // screen readers announce the answer once, when complete
}

async function ask(prompt) {
  $("error").hidden = true;
  messages.push({ role: "user", content: prompt });
  addEntry("user", prompt);
  const answer = addEntry("assistant", "");
  answer.item.dataset.state = "streaming";
  const started = performance.now();
  let text = "";
  let firstTokenMs = null;
  let summary = "";
  controller = new AbortController();
  setBusy(true);
  $("status").textContent = "Waiting for the first token…";

  const onEvent = (event, data) => {
    const payload = JSON.parse(data);
    if (event === "text") {
      if (firstTokenMs === null) {
        firstTokenMs = Math.round(performance.now() - started);
        answer.item.dataset.ttft = String(firstTokenMs);
        $("status").textContent = `First token after ${firstTokenMs} ms`;
      }
      text += payload.text;
      answer.body.append(payload.text); // append, not re-render: each event costs only its own text
    } else if (event === "stop") {
      summary = `${payload.usage.output_tokens} tokens · ${payload.stop_reason}`;
      answer.item.dataset.state = "done";
    } else if (event === "error") {
      answer.item.dataset.state = "error";
      summary = payload.type;
      showError(payload);
    }
  };

  try {
    const response = await fetch("chat", {
      method: "POST",
      // Accept: jupyter-server-proxy streams only responses to requests that ask for an event stream.
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ messages }),
      signal: controller.signal,
    });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw Object.assign(new Error(body?.error?.message || `HTTP ${response.status}`), { type: body?.error?.type || "http_error" });
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const feed = sseParser(onEvent);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      feed(value);
    }
  } catch (err) {
    if (err.name === "AbortError") {
      answer.item.dataset.state = "stopped";
      summary = "stopped";
    } else {
      answer.item.dataset.state = "error";
      showError({ type: err.type || "network_error", message: err.message });
    }
  } finally {
    controller = null;
    setBusy(false);
  }
  if (answer.item.dataset.state === "streaming") {
    answer.item.dataset.state = "error"; // the body ended with neither stop nor error: the relay went away
    showError({ type: "stream_error", message: "The answer ended before it was complete." });
  }
  if (text) messages.push({ role: "assistant", content: text }); // keep what arrived, even a partial answer
  else messages.pop(); // nothing came back: leave this question out of the conversation sent next time
  const ttft = firstTokenMs === null ? "no tokens" : `first token ${firstTokenMs} ms`;
  answer.meta.textContent = [ttft, summary].filter(Boolean).join(" · ");
  $("status").textContent = answer.meta.textContent;
}

document.addEventListener("DOMContentLoaded", () => {
  const prompt = $("prompt");
  $("ask").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = prompt.value.trim();
    if (!text || controller) return;
    prompt.value = "";
    ask(text);
  });
  prompt.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("ask").requestSubmit();
    }
  });
  $("stop").addEventListener("click", () => controller?.abort());
});
