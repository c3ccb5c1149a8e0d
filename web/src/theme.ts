// The light/dark theme: the stored choice, else the system's (followed live), and the toggle.
import { $, KEY } from "./page";

export function setupTheme(onChange: (dark: boolean) => void) {
  const root = document.documentElement;
  const media = matchMedia("(prefers-color-scheme: dark)");
  const apply = (t: "light" | "dark") => {
    root.dataset.theme = t;
    const btn = $("#theme-btn");
    btn.setAttribute("aria-pressed", String(t === "dark"));
    btn.title = t === "dark" ? "Switch to the light theme" : "Switch to the dark theme";
    onChange(t === "dark");
  };
  const storedTheme = () => {
    try {
      return localStorage.getItem(KEY.theme);
    } catch {
      return null;
    }
  };
  const stored = storedTheme();
  apply(stored === "dark" || stored === "light" ? stored : media.matches ? "dark" : "light");
  media.addEventListener("change", () => {
    const s = storedTheme();
    if (s !== "dark" && s !== "light") apply(media.matches ? "dark" : "light");
  });
  $("#theme-btn").addEventListener("click", () => {
    const next = root.dataset.theme === "dark" ? "light" : "dark";
    try {
      localStorage.setItem(KEY.theme, next);
    } catch {
      /* still switch for this page view */
    }
    apply(next);
  });
}

export function isDark(): boolean {
  return document.documentElement.dataset.theme === "dark";
}
