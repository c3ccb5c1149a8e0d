// The file bar above the editor: one tab per file (the main file first and marked), keyboard
// navigation, and add / rename / make-main / delete with the inline name editor.
import type { CodeEditor } from "./editor";
import { suggestFileName, validateFileName } from "./format";
import { el } from "./output";
import { $, toast } from "./page";

export interface FileEntry { name: string; content: string }

export interface FileBarEvents {
  /** The user changed the set of files, their names or the main file. */
  onEdited: () => void;
  /** Another file became the active one. */
  onShown: () => void;
  /** The display name of the current language, for the status line; undefined before one. */
  languageName: () => string | undefined;
}

type FileEdit = { kind: "add" } | { kind: "rename"; file: string };

export class FileBar {
  /** File names in tab order; the main file is always first. */
  private order: string[] = [];
  private mainFile = "";
  private fileEdit: FileEdit | null = null;

  constructor(private readonly editor: CodeEditor, private readonly events: FileBarEvents) {
    this.setup();
  }

  get main(): string {
    return this.mainFile;
  }

  get names(): readonly string[] {
    return this.order;
  }

  /** Shows `files` (main first) with `active` open. */
  load(files: FileEntry[], main: FileEntry) {
    this.order = files.map((f) => f.name);
    this.mainFile = main.name;
    this.render();
  }

  files(): FileEntry[] {
    return this.order.map((name) => ({ name, content: this.editor.content(name) }));
  }

  render() {
    const host = $("#file-tabs");
    const active = this.editor.activeFile;
    const frag = document.createDocumentFragment();
    for (const name of this.order) {
      const isMain = name === this.mainFile;
      const tab = el("button", {
        class: "file-tab",
        attrs: {
          type: "button", role: "tab", "data-file": name,
          "aria-selected": String(name === active), tabindex: name === active ? "0" : "-1",
          "aria-controls": "editor", title: isMain ? `${name} (main file)` : name,
        },
      }, el("span", { class: "file-tab-name", text: name }));
      if (isMain) tab.append(el("span", { class: "main-mark", text: "main", attrs: { "aria-label": "(main file)" } }));
      tab.addEventListener("click", () => this.show(name));
      tab.addEventListener("dblclick", () => this.openEdit({ kind: "rename", file: name }));
      frag.append(tab);
    }
    host.replaceChildren(frag);
    const activeIsMain = active === this.mainFile;
    $<HTMLButtonElement>("#file-rename").disabled = !active;
    $<HTMLButtonElement>("#file-main").disabled = activeIsMain;
    $<HTMLButtonElement>("#file-delete").disabled = activeIsMain;
    const lang = this.events.languageName();
    $("#file-info").textContent = active ? `${active}${activeIsMain ? " · main file" : ""}${lang ? ` · ${lang}` : ""}` : "";
  }

  show(name: string, focusTab = false) {
    this.editor.show(name);
    this.render();
    this.events.onShown();
    if (focusTab) $(`.file-tab[data-file="${CSS.escape(name)}"]`).focus();
  }

  closeEdit(refocus = false) {
    this.fileEdit = null;
    $("#file-edit").hidden = true;
    if (refocus) this.editor.focus();
  }

  private setup() {
    const tabs = $("#file-tabs");
    tabs.addEventListener("keydown", (e) => {
      const i = this.order.indexOf(this.editor.activeFile);
      let next = -1;
      if (e.key === "ArrowRight") next = (i + 1) % this.order.length;
      else if (e.key === "ArrowLeft") next = (i - 1 + this.order.length) % this.order.length;
      else if (e.key === "Home") next = 0;
      else if (e.key === "End") next = this.order.length - 1;
      else if (e.key === "F2") this.openEdit({ kind: "rename", file: this.editor.activeFile });
      else if (e.key === "Delete") this.remove(this.editor.activeFile);
      if (next >= 0) {
        e.preventDefault();
        this.show(this.order[next], true);
      }
    });
    // Actions on the active file, next to the "+" button.
    const actions = el("div", { class: "file-actions" },
      iconButton("file-rename", "Rename file", '<path d="M10.5 2.5l3 3L6 13H3v-3z"/>'),
      iconButton("file-main", "Make this the main file", '<path d="M8 2l1.8 3.8 4.2.5-3.1 2.9.8 4.1L8 11.3 4.3 13.3l.8-4.1L2 6.3l4.2-.5z"/>'),
      iconButton("file-delete", "Delete file", '<path d="M3 4.5h10M6.5 4.5V3h3v1.5M4.5 4.5l.7 9h5.6l.7-9"/>'),
    );
    $("#add-file").before(actions);
    $("#add-file").addEventListener("click", () => this.openEdit({ kind: "add" }));
    $("#file-rename").addEventListener("click", () => this.openEdit({ kind: "rename", file: this.editor.activeFile }));
    $("#file-main").addEventListener("click", () => this.makeMain(this.editor.activeFile));
    $("#file-delete").addEventListener("click", () => this.remove(this.editor.activeFile));

    const input = $<HTMLInputElement>("#file-name-input");
    $("#file-name-ok").addEventListener("click", () => this.commitEdit());
    $("#file-name-cancel").addEventListener("click", () => this.closeEdit(true));
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        this.commitEdit();
      } else if (e.key === "Escape") {
        e.preventDefault();
        this.closeEdit(true);
      }
    });
    input.addEventListener("input", () => {
      $("#file-name-error").textContent = "";
      input.removeAttribute("aria-invalid");
    });
  }

  private openEdit(edit: FileEdit) {
    if (!this.events.languageName()) return;
    this.fileEdit = edit;
    const input = $<HTMLInputElement>("#file-name-input");
    $("#file-name-label").textContent = edit.kind === "add" ? "New file name" : `Rename ${edit.file} to`;
    input.value = edit.kind === "add" ? suggestFileName(this.mainFile, this.order) : edit.file;
    $("#file-name-error").textContent = "";
    input.removeAttribute("aria-invalid");
    $("#file-edit").hidden = false;
    input.focus();
    const dot = input.value.lastIndexOf(".");
    input.setSelectionRange(0, dot > 0 ? dot : input.value.length);
  }

  private commitEdit() {
    const edit = this.fileEdit;
    if (!edit) return;
    const input = $<HTMLInputElement>("#file-name-input");
    const name = input.value.trim();
    if (edit.kind === "rename" && name === edit.file) return this.closeEdit(true);
    const others = this.order.filter((n) => edit.kind === "add" || n !== edit.file);
    const err = validateFileName(name, others);
    if (err) {
      $("#file-name-error").textContent = err;
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    if (edit.kind === "add") {
      this.editor.add(name, "");
      this.order.push(name);
      this.editor.show(name);
    } else {
      this.editor.rename(edit.file, name);
      this.order = this.order.map((n) => (n === edit.file ? name : n));
      if (this.mainFile === edit.file) {
        this.mainFile = name;
        this.editor.setMain(name);
      }
    }
    this.render();
    this.closeEdit(true);
    this.events.onEdited();
  }

  private makeMain(name: string) {
    if (!name || name === this.mainFile) return;
    this.mainFile = name;
    this.order = [name, ...this.order.filter((n) => n !== name)];
    this.editor.setMain(name);
    this.render();
    this.events.onEdited();
    toast(`${name} is now the main file`);
  }

  private remove(name: string) {
    if (!name || name === this.mainFile) return;
    if (this.editor.content(name).trim() && !confirm(`Delete ${name}?`)) return;
    const i = this.order.indexOf(name);
    this.order.splice(i, 1);
    this.editor.remove(name);
    this.editor.show(this.order[Math.max(0, i - 1)]);
    this.render();
    this.events.onEdited();
    $(`.file-tab[aria-selected="true"]`)?.focus();
  }
}

function iconButton(id: string, label: string, path: string) {
  const b = el("button", { class: "btn btn-ghost btn-icon btn-sm", attrs: { type: "button", id, "aria-label": label, title: label } });
  b.innerHTML = `<svg viewBox="0 0 16 16" aria-hidden="true">${path}</svg>`;
  return b;
}
