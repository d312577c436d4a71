// What every view after a kernel's first ships to the browser: this loader, not the views' code (views.js, ~20 kB).
// The kernel's first view carried the code and filled the page's slot for it (registry.js); this view waits for
// that module. Messages that reach this view meanwhile are queued and handed over, so nothing streamed is lost.

export default {
  async initialize({ model }) {
    const early = [];
    const queue = (msg) => early.push(msg);
    model.on("msg:custom", queue);
    const views = await slot(model.get("code_version")).promise;
    model.off("msg:custom", queue);
    return views.initialize({ model }, early);
  },
  async render({ model, el }) {
    const views = await slot(model.get("code_version")).promise;
    return views.render({ model, el });
  },
};
