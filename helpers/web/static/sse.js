// The course's one SSE parser in JavaScript. The relay's chat page loads this file; tools/inline_js.py copies it
// into the capstone's page (notebooks/capstone/index.html), which must stay a single file the learner's app serves.
"use strict";

// An incremental SSE parser. Feed it text as it arrives, in chunks cut anywhere; it calls onEvent(name, data)
// once per complete event (a blank line ends an event; several data lines are joined with "\n").
function sseParser(onEvent) {
  let buffer = "";
  let name = "";
  let data = [];
  return function feed(chunk) {
    buffer += chunk;
    const cut = buffer.endsWith("\r") ? buffer.length - 1 : buffer.length; // a CR may be half of a CRLF
    const lines = buffer.slice(0, cut).split(/\r\n|\r|\n/);
    buffer = lines.pop() + buffer.slice(cut); // the last line is not complete yet
    for (const line of lines) {
      if (line === "") {
        if (data.length) onEvent(name || "message", data.join("\n"));
        name = "";
        data = [];
        continue;
      }
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
    }
  };
}
