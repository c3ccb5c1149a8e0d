// Rendering of results: the status bar and the stdout / stderr / compiler output blocks.
import type { Result } from "./api";
import { capText, formatBytes, formatKiB, formatMs, linkifyLocations, statusInfo } from "./format";

/** Rendering cap per stream. The server caps output too (Limits.output_bytes). */
export const MAX_RENDER_CHARS = 1_000_000;

export type LocHandler = (file: string, line: number, col: number) => void;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { class?: string; text?: string; attrs?: Record<string, string> } = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.class) e.className = props.class;
  if (props.text !== undefined) e.textContent = props.text;
  if (props.attrs) for (const [k, v] of Object.entries(props.attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

export function badge(status: string, extraClass = ""): HTMLElement {
  const info = statusInfo(status);
  return el("span", {
    class: `badge tone-${info.tone} ${extraClass}`.trim(),
    text: status,
    attrs: { title: info.label, "data-status": status },
  });
}

function fillPre(pre: HTMLElement, text: string, files: readonly string[] | null, onLoc?: LocHandler) {
  if (!files || !onLoc) {
    pre.textContent = text;
    return;
  }
  const frag = document.createDocumentFragment();
  for (const seg of linkifyLocations(text, files)) {
    if (seg.kind === "text") {
      frag.append(seg.text);
    } else {
      const b = el("button", {
        class: "loc",
        text: seg.text,
        attrs: { type: "button", title: `Go to ${seg.file} line ${seg.line}`, "data-file": seg.file, "data-line": String(seg.line) },
      });
      b.addEventListener("click", () => onLoc(seg.file, seg.line, seg.column));
      frag.append(b);
    }
  }
  pre.replaceChildren(frag);
}

export interface StreamOptions {
  /** Stable id for tests and anchors: "stdout", "stderr", "compile". */
  id: string;
  title: string;
  text: string;
  /** The server cut the output at its limit. */
  serverTruncated?: boolean;
  /** Make `file:line` references clickable. */
  files?: readonly string[];
  onLoc?: LocHandler;
  tone?: "normal" | "error";
  emptyText?: string;
}

export function streamBlock(o: StreamOptions): HTMLElement {
  const { shown, cut } = capText(o.text, MAX_RENDER_CHARS);
  const pre = el("pre", { class: `stream-text ${o.tone === "error" ? "is-error" : ""}`, attrs: { id: `out-${o.id}`, tabindex: "0" } });
  if (o.text === "") {
    pre.classList.add("is-empty");
    pre.textContent = o.emptyText ?? "(empty)";
  } else {
    fillPre(pre, shown, o.files ?? null, o.onLoc);
  }
  const size = new Blob([o.text]).size;
  const lines = o.text === "" ? 0 : o.text.split("\n").length - (o.text.endsWith("\n") ? 1 : 0);
  const copy = el("button", { class: "btn btn-ghost btn-xs", text: "Copy", attrs: { type: "button", "aria-label": `Copy ${o.title}` } });
  copy.disabled = o.text === "";
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(o.text);
      copy.textContent = "Copied";
    } catch {
      copy.textContent = "Copy failed";
    }
    setTimeout(() => (copy.textContent = "Copy"), 1500);
  });
  const head = el(
    "div",
    { class: "stream-head" },
    el("h3", { class: "stream-title", text: o.title, attrs: { id: `out-${o.id}-title` } }),
    el("span", { class: "stream-meta", text: o.text === "" ? "" : `${lines} line${lines === 1 ? "" : "s"} · ${formatBytes(size)}` }),
    copy,
  );
  pre.setAttribute("aria-labelledby", `out-${o.id}-title`);
  const block = el("section", { class: `stream stream-${o.id}`, attrs: { "data-stream": o.id } }, head, pre);
  if (cut) {
    const url = URL.createObjectURL(new Blob([o.text], { type: "text/plain" }));
    const a = el("a", { text: "download all", attrs: { href: url, download: `${o.id}.txt` } });
    block.append(
      el("p", { class: "note", attrs: { "data-note": "display-cap" } },
        `Showing the first ${formatBytes(MAX_RENDER_CHARS)} of ${formatBytes(size)} to keep the page fast — `, a, "."),
    );
  }
  if (o.serverTruncated) {
    block.append(el("p", { class: "note warn", attrs: { "data-note": "server-cap" }, text: "The program wrote more than the output limit; the rest was cut by the server." }));
  }
  return block;
}

export interface StatusView {
  status: string;
  message?: string;
  result?: Result | null;
  /** e.g. "3 / 4 passed" for tests. */
  summary?: string;
  compileCached?: boolean;
}

function stat(label: string, value: string, key: string): HTMLElement {
  return el("span", { class: "stat", attrs: { "data-stat": key } }, el("span", { class: "stat-label", text: label }), el("span", { class: "stat-value", text: value }));
}

/** Fills the status bar for a finished run. */
export function renderStatus(bar: HTMLElement, v: StatusView) {
  const info = statusInfo(v.status);
  const r = v.result;
  const main = el("div", { class: "status-main" }, badge(v.status, "badge-lg"),
    el("span", { class: "status-label", text: info.label }),
    el("span", { class: "status-message", text: v.message ?? r?.message ?? "", attrs: { id: "status-message", title: v.message ?? r?.message ?? "" } }));
  const stats = el("div", { class: "status-stats" });
  if (v.summary) stats.append(stat("Tests", v.summary, "tests"));
  if (r) {
    const code = r.signal ? `signal ${r.signal}` : r.exit_code == null ? "–" : String(r.exit_code);
    stats.append(
      stat("Exit", code, "exit"),
      stat("CPU", formatMs(r.cpu_time_ms), "cpu"),
      stat("Wall", formatMs(r.wall_time_ms), "wall"),
      stat("Memory", formatKiB(r.memory_kib), "memory"),
    );
  }
  bar.dataset.state = "done";
  bar.dataset.status = v.status;
  bar.replaceChildren(main, stats);
}

export function renderRunning(bar: HTMLElement, text: string) {
  bar.dataset.state = "running";
  delete bar.dataset.status;
  const t0 = performance.now();
  const elapsed = el("span", { class: "status-elapsed", text: "" });
  bar.replaceChildren(
    el("div", { class: "status-main" }, el("span", { class: "spinner", attrs: { "aria-hidden": "true" } }), el("span", { class: "status-label", text })),
    el("div", { class: "status-stats" }, elapsed),
  );
  const tick = () => {
    if (bar.dataset.state !== "running" || !bar.contains(elapsed)) return;
    const s = (performance.now() - t0) / 1000;
    if (s >= 1) elapsed.textContent = `${s.toFixed(0)} s`;
    setTimeout(tick, 500);
  };
  tick();
}

export function renderError(bar: HTMLElement, message: string) {
  bar.dataset.state = "error";
  delete bar.dataset.status;
  bar.replaceChildren(
    el("div", { class: "status-main" }, el("span", { class: "badge tone-system badge-lg", text: "Error", attrs: { "data-status": "error" } }),
      el("span", { class: "status-message", text: message, attrs: { id: "status-message", role: "alert" } })),
  );
}

export function renderIdle(bar: HTMLElement, hint: string) {
  bar.dataset.state = "idle";
  delete bar.dataset.status;
  bar.replaceChildren(el("div", { class: "status-main" }, el("span", { class: "status-hint", text: hint })));
}
