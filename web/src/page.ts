// What every part of the page shares: the DOM lookup, local storage, the toast and the banner.
import { el } from "./output";

export const KEY = {
  state: "runbox:v1:state",
  theme: "runbox:v1:theme",
  ws: (langId: string) => `runbox:v1:files:${langId}`,
};

export const isMac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
export const runShortcut = isMac ? "⌘ Enter" : "Ctrl+Enter";

export const $ = <T extends HTMLElement = HTMLElement>(sel: string) => document.querySelector<T>(sel)!;

export function readJSON<T>(key: string): T | undefined {
  try {
    const s = localStorage.getItem(key);
    return s ? (JSON.parse(s) as T) : undefined;
  } catch {
    return undefined;
  }
}

let storageWarned = false;
export function writeJSON(key: string, value: unknown) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    if (!storageWarned) toast("Your browser did not let the page save your code locally.");
    storageWarned = true;
  }
}

export interface Debounced {
  (): void;
  flush(): void;
}

export function debounce(fn: () => void, ms: number): Debounced {
  let t = 0;
  const d = () => {
    clearTimeout(t);
    t = window.setTimeout(fn, ms);
  };
  d.flush = () => {
    clearTimeout(t);
    fn();
  };
  return d;
}

let toastTimer = 0;
export function toast(msg: string) {
  const t = $("#toast");
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (t.hidden = true), 3500);
}

export function showBanner(message: string, action?: { label: string; run: () => void }) {
  const b = $("#banner");
  b.replaceChildren(el("span", { text: message }));
  if (action) {
    const btn = el("button", { class: "btn btn-sm", text: action.label, attrs: { type: "button" } });
    btn.addEventListener("click", action.run);
    b.append(btn);
  }
  b.hidden = false;
}

export function hideBanner() {
  $("#banner").hidden = true;
}

/** Snippet files may be saved as base64 (docs/api.md `encoding`); the editor shows text. */
export function decodeContent(f: { content?: string; encoding?: string }): string {
  const c = f.content ?? "";
  if (f.encoding !== "base64") return c;
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(c), (ch) => ch.charCodeAt(0)));
  } catch {
    return c;
  }
}
