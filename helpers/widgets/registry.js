// One slot per version of the views' code on a page: the first view of a kernel fills it (its module is views.js
// and this file), every later view waits on it (its module is loader.js and this file). helpers/widgets/_live.py
// joins the files; this one is not loaded on its own.
function slot(version) {
  const slots = (globalThis.__courseViews ??= {});
  if (!slots[version]) {
    let resolve;
    const promise = new Promise((r) => (resolve = r));
    slots[version] = { promise, resolve };
  }
  return slots[version];
}
