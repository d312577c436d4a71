"""An accessibility audit of the course's own elements: axe-core (shipped inside axe-playwright-python, no CDN).

Only serious and critical violations count, and only in what the course draws: its live views, their static
renderings, the Playground, the lessons' markdown, the chat page. JupyterLab's own chrome is JupyterLab's business.
"""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

COURSE = [".cw", ".cw-static", ".cw-playground", ".jp-MarkdownCell .jp-RenderedMarkdown"]


def audit(page, include: list[str] | None = None) -> list[str]:
    """``impact: rule: where`` for each serious or critical violation in ``include`` (default: the course's elements)."""
    present = [s for s in include or COURSE if page.locator(s).count()]
    if not present:
        return []
    results = Axe().run(page, context={"include": [[s] for s in present]}, options={"resultTypes": ["violations"]})
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in {"serious", "critical"}:
            where = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:3])
            found.append(f"{violation['impact']}: {violation['id']} ({violation['help']}): {where}")
    return found


# axe's color-contrast rule does not run inside JupyterLab's notebook panel (it finds no node to check there), so the
# course checks its own text the way WCAG 2 defines it: the text's colour over the background it really sits on
# (translucent backgrounds composited up the tree), 4.5:1 for text, 3:1 for large or bold large text.
CONTRAST = """(selector) => {
  const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, bottom) => { const a = top[3] + bottom[3] * (1 - top[3]);
    return a === 0 ? [0, 0, 0, 0] : [0, 1, 2].map(i => (top[i] * top[3] + bottom[i] * bottom[3] * (1 - top[3])) / a).concat([a]); };
  const background = (el) => { let layers = [];
    for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c[3] > 0) layers.push(c); if (c[3] >= 1) break; }
    let bg = [255, 255, 255, 1]; for (const c of layers.reverse()) bg = over(c, bg); return bg; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const found = [];
  for (const el of document.querySelectorAll(selector)) {
    const text = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.data).join("").trim();
    if (!text || !el.getClientRects().length) continue;
    const s = getComputedStyle(el); if (s.visibility !== "visible") continue;
    const bg = background(el); const fg = over(parse(s.color), bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a); const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(s.fontSize), bold = Number(s.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) found.push(`${ratio.toFixed(2)} < ${need}: <${el.tagName.toLowerCase()} class="${el.className}"> "${text.slice(0, 40)}" (${s.color} on rgb(${bg.slice(0, 3).map(Math.round)}))`);
  }
  return found;
}"""


def contrast_failures(page, selector: str = ".cw, .cw *, .cw-playground *") -> list[str]:
    """Text in the course's elements below WCAG AA contrast, with its ratio, colour and effective background."""
    return page.evaluate(CONTRAST, selector)
