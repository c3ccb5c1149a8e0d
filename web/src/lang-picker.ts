// A searchable language list: a button that opens a popover with a filter box (ARIA combobox)
// driving a listbox. Keyboard: type to filter, Up/Down to move, Enter to pick, Escape to close.
import type { Language } from "./api";
import { languageMatches } from "./format";

export function langKey(l: Language) {
  return `${l.id}@${l.version}`;
}

function rank(l: Language, q: string): number {
  const s = q.trim().toLowerCase();
  if (!s) return 0;
  if (l.id.toLowerCase() === s || l.aliases?.some((a) => a.toLowerCase() === s)) return 0;
  if (l.name.toLowerCase() === s) return 0;
  if (l.name.toLowerCase().startsWith(s)) return 1;
  if (l.id.toLowerCase().startsWith(s)) return 2;
  return 3;
}

export class LangPicker {
  private langs: Language[] = [];
  private filtered: Language[] = [];
  private active = 0;
  private selected: Language | undefined;
  private readonly button: HTMLButtonElement;
  private readonly pop: HTMLElement;
  private readonly input: HTMLInputElement;
  private readonly list: HTMLUListElement;
  private readonly onPick: (l: Language) => void;

  constructor(root: HTMLElement, onPick: (l: Language) => void) {
    this.onPick = onPick;
    this.button = root.querySelector<HTMLButtonElement>("#lang-button")!;
    this.pop = root.querySelector<HTMLElement>("#lang-popover")!;
    this.input = root.querySelector<HTMLInputElement>("#lang-search")!;
    this.list = root.querySelector<HTMLUListElement>("#lang-list")!;

    this.button.addEventListener("click", () => (this.isOpen() ? this.close(true) : this.open()));
    this.button.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        this.open();
      } else if (e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey && /\S/.test(e.key)) {
        e.preventDefault();
        this.open(e.key);
      }
    });
    this.input.addEventListener("input", () => this.filter());
    this.input.addEventListener("keydown", (e) => this.onKey(e));
    this.list.addEventListener("mousedown", (e) => e.preventDefault()); // keep focus in the input
    this.list.addEventListener("click", (e) => {
      const li = (e.target as HTMLElement).closest<HTMLLIElement>("li[data-index]");
      if (li) this.pick(this.filtered[Number(li.dataset.index)]);
    });
    document.addEventListener("mousedown", (e) => {
      if (this.isOpen() && !root.contains(e.target as Node)) this.close(false);
    });
    root.addEventListener("focusout", (e) => {
      const to = e.relatedTarget as Node | null;
      if (this.isOpen() && to && !root.contains(to)) this.close(false);
    });
  }

  setLanguages(langs: Language[]) {
    this.langs = [...langs].sort((a, b) => a.name.localeCompare(b.name) || b.version.localeCompare(a.version));
    this.button.disabled = langs.length === 0;
  }

  /** Shows `l` as the current language without firing onPick. */
  select(l: Language | undefined) {
    this.selected = l;
    const name = this.button.querySelector(".lang-name")!;
    const ver = this.button.querySelector(".lang-version")!;
    name.textContent = l ? l.name : "No language";
    ver.textContent = l ? l.version : "";
    this.button.setAttribute("aria-label", l ? `Language: ${l.name} ${l.version}. Change language` : "Choose a language");
  }

  setBusy(text: string) {
    this.button.querySelector(".lang-name")!.textContent = text;
    this.button.querySelector(".lang-version")!.textContent = "";
  }

  isOpen() {
    return !this.pop.hidden;
  }

  open(initial = "") {
    if (!this.langs.length) return;
    this.pop.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.input.setAttribute("aria-expanded", "true");
    this.input.value = initial;
    this.filter();
    const i = this.selected ? this.filtered.indexOf(this.selected) : -1;
    if (!initial && i >= 0) this.setActive(i);
    this.input.focus();
  }

  close(refocus: boolean) {
    this.pop.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
    if (refocus) this.button.focus();
  }

  private filter() {
    const q = this.input.value;
    this.filtered = this.langs
      .filter((l) => languageMatches(l, q))
      .map((l, i) => ({ l, i, r: rank(l, q) }))
      .sort((a, b) => a.r - b.r || a.i - b.i)
      .map((x) => x.l);
    this.render();
    this.setActive(0);
  }

  private render() {
    const frag = document.createDocumentFragment();
    this.filtered.forEach((l, i) => {
      const li = document.createElement("li");
      li.id = `lang-opt-${i}`;
      li.setAttribute("role", "option");
      li.dataset.index = String(i);
      li.dataset.id = l.id;
      li.setAttribute("aria-selected", String(l === this.selected));
      const name = document.createElement("span");
      name.className = "opt-name";
      name.textContent = l.name;
      const ver = document.createElement("span");
      ver.className = "opt-version";
      ver.textContent = l.version;
      const id = document.createElement("span");
      id.className = "opt-id";
      id.textContent = l.compiled ? `${l.id} · compiled` : l.id;
      li.append(name, ver, id);
      frag.append(li);
    });
    if (!this.filtered.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = "No language matches";
      frag.append(li);
    }
    this.list.replaceChildren(frag);
  }

  private setActive(i: number) {
    const items = this.list.querySelectorAll<HTMLLIElement>("li[role=option]");
    if (!items.length) {
      this.input.removeAttribute("aria-activedescendant");
      return;
    }
    this.active = (i + items.length) % items.length;
    items.forEach((li, k) => li.classList.toggle("active", k === this.active));
    const li = items[this.active];
    this.input.setAttribute("aria-activedescendant", li.id);
    li.scrollIntoView({ block: "nearest" });
  }

  private onKey(e: KeyboardEvent) {
    switch (e.key) {
      case "ArrowDown":
        e.preventDefault();
        this.setActive(this.active + 1);
        break;
      case "ArrowUp":
        e.preventDefault();
        this.setActive(this.active - 1);
        break;
      case "Home":
      case "End":
        if (e.ctrlKey) {
          e.preventDefault();
          this.setActive(e.key === "Home" ? 0 : this.filtered.length - 1);
        }
        break;
      case "Enter":
        e.preventDefault();
        if (this.filtered[this.active]) this.pick(this.filtered[this.active]);
        break;
      case "Escape":
        e.preventDefault();
        e.stopPropagation();
        this.close(true);
        break;
      case "Tab":
        this.close(false);
        break;
    }
  }

  private pick(l: Language) {
    this.close(true);
    if (l !== this.selected) {
      this.select(l);
      this.onPick(l);
    }
  }
}
