// The runbox web IDE: wires the language picker, editor, file tabs, input, run modes (batch run,
// test cases, interactive terminal), sharing and themes together. Only the public API of
// docs/api.md is used.
import "./style.css";
import {
  ApiError, createSnippet, getLanguages, getSnippet, runJob,
  type Compare, type JobRequest, type JobResult, type Language, type Result, type TestCase,
} from "./api";
import { CodeEditor } from "./editor";
import { joinArgs, splitArgs, suggestFileName, validateFileName } from "./format";
import { LangPicker } from "./lang-picker";
import { el, renderError, renderIdle, renderRunning, renderStatus, streamBlock } from "./output";
import { TestsPanel, type TestsState } from "./tests-panel";
import type { InteractiveTerminal } from "./terminal";

type Mode = "run" | "tests" | "interactive";

interface FileEntry { name: string; content: string }
interface Workspace { files: FileEntry[]; main: string; active: string }
interface SavedState {
  lang?: string;
  version?: string;
  stdin?: string;
  args?: string;
  mode?: Mode;
  tests?: TestsState;
}

const KEY = {
  state: "runbox:v1:state",
  theme: "runbox:v1:theme",
  ws: (langId: string) => `runbox:v1:files:${langId}`,
};

const $ = <T extends HTMLElement = HTMLElement>(sel: string) => document.querySelector<T>(sel)!;

function readJSON<T>(key: string): T | undefined {
  try {
    const s = localStorage.getItem(key);
    return s ? (JSON.parse(s) as T) : undefined;
  } catch {
    return undefined;
  }
}

let storageWarned = false;
function writeJSON(key: string, value: unknown) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    if (!storageWarned) toast("Your browser did not let the page save your code locally.");
    storageWarned = true;
  }
}

function debounce(fn: () => void, ms: number) {
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
function toast(msg: string) {
  const t = $("#toast");
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (t.hidden = true), 3500);
}

function showBanner(message: string, action?: { label: string; run: () => void }) {
  const b = $("#banner");
  b.replaceChildren(el("span", { text: message }));
  if (action) {
    const btn = el("button", { class: "btn btn-sm", text: action.label, attrs: { type: "button" } });
    btn.addEventListener("click", action.run);
    b.append(btn);
  }
  b.hidden = false;
}

function hideBanner() {
  $("#banner").hidden = true;
}

/** Snippet files may be saved as base64 (docs/api.md `encoding`); the editor shows text. */
function decodeContent(f: { content?: string; encoding?: string }): string {
  const c = f.content ?? "";
  if (f.encoding !== "base64") return c;
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(c), (ch) => ch.charCodeAt(0)));
  } catch {
    return c;
  }
}

const isMac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);

class App {
  private languages: Language[] = [];
  private lang: Language | undefined;
  private order: string[] = [];
  private main = "";
  private mode: Mode = "run";
  private busy = false;
  private saved: SavedState = readJSON<SavedState>(KEY.state) ?? {};
  /** Opened from a share link and not edited since: nothing is saved, the URL keeps ?s=. */
  private pristineSnippet = false;
  private fileEdit: { kind: "add" } | { kind: "rename"; file: string } | null = null;

  private readonly runBtn = $<HTMLButtonElement>("#run-btn");
  private readonly statusBar = $("#status-bar");
  private readonly outputBody = $("#output-body");
  private readonly stdin = $<HTMLTextAreaElement>("#stdin");
  private readonly args = $<HTMLInputElement>("#args");
  private readonly editor: CodeEditor;
  private readonly picker: LangPicker;
  private readonly tests: TestsPanel;
  /** xterm.js is loaded on first use of the Interactive tab, keeping the first load small. */
  private term: InteractiveTerminal | null = null;
  private termLoading: Promise<InteractiveTerminal> | null = null;

  private readonly saveWorkspace = debounce(() => this.persistWorkspace(), 300);
  private readonly saveState = debounce(() => this.persistState(), 300);

  constructor() {
    this.editor = new CodeEditor($("#editor"), {
      onChange: () => this.edited(),
      onCursor: (line, col) => ($("#cursor-pos").textContent = `Ln ${line}, Col ${col}`),
      onRun: () => this.run(),
    });
    this.picker = new LangPicker($("#lang-picker"), (l) => this.switchLanguage(l));
    this.tests = new TestsPanel($("#panel-tests"), this.saved.tests ?? { cases: [], compare: "trailing_whitespace" }, (s) => {
      this.saved.tests = s;
      this.saveState();
    });

    $("#run-kbd").textContent = isMac ? "⌘ Enter" : "Ctrl+Enter";
    this.runBtn.title = `Run (${isMac ? "⌘ Enter" : "Ctrl+Enter"})`;
    this.runBtn.addEventListener("click", () => this.run());
    $("#term-stop").addEventListener("click", () => this.term?.stop());
    $("#share-btn").addEventListener("click", () => void this.share());
    $("#reset-btn").addEventListener("click", () => this.resetToTemplate());
    this.stdin.value = this.saved.stdin ?? "";
    this.args.value = this.saved.args ?? "";
    this.stdin.addEventListener("input", () => this.edited());
    this.args.addEventListener("input", () => this.edited());
    this.setupTabs();
    this.setupFileBar();
    this.setupTheme();
    this.setupShareDialog();

    document.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !e.defaultPrevented) {
        if ((e.target as HTMLElement).closest?.(".term-host, dialog")) return;
        e.preventDefault();
        this.run();
      }
    });
    window.addEventListener("beforeunload", () => {
      this.saveWorkspace.flush();
      this.saveState.flush();
    });

    this.setMode(this.saved.mode ?? "run", false);
    renderIdle(this.statusBar, "Ready.");
    this.renderOutputPlaceholder();
    void this.boot();
  }

  // ---- start-up -------------------------------------------------------------------------

  private async boot() {
    this.picker.setBusy("Loading languages…");
    try {
      this.languages = await getLanguages();
    } catch (e) {
      this.picker.setBusy("No languages");
      showBanner(`Cannot load the language list. ${(e as Error).message}`, {
        label: "Retry",
        run: () => {
          hideBanner();
          void this.boot();
        },
      });
      renderError(this.statusBar, "The language list could not be loaded, so nothing can run yet.");
      return;
    }
    hideBanner();
    if (this.statusBar.dataset.state === "error") renderIdle(this.statusBar, "Ready.");
    if (!Array.isArray(this.languages) || !this.languages.length) {
      this.picker.setBusy("No languages");
      showBanner("This runbox server offers no languages. Ask its administrator to install some.");
      return;
    }
    this.picker.setLanguages(this.languages);

    const snippetId = new URLSearchParams(location.search).get("s");
    if (snippetId && (await this.openSnippet(snippetId))) return;

    const l = this.findLanguage(this.saved.lang, this.saved.version) ?? this.defaultLanguage();
    this.switchLanguage(l);
  }

  private findLanguage(id?: string, version?: string): Language | undefined {
    if (!id) return undefined;
    const same = this.languages.filter((l) => l.id === id);
    return same.find((l) => l.version === version) ?? same[0];
  }

  private defaultLanguage(): Language {
    return (
      this.languages.find((l) => /^python3?$/i.test(l.id)) ??
      this.languages.find((l) => /^python/i.test(l.name)) ??
      [...this.languages].sort((a, b) => a.name.localeCompare(b.name))[0]
    );
  }

  private async openSnippet(id: string): Promise<boolean> {
    renderRunning(this.statusBar, "Loading shared code…");
    try {
      const s = await getSnippet(id);
      const l = this.findLanguage(s.language);
      if (!l) {
        showBanner(`The shared code is in “${s.language}”, which this server does not offer.`);
        return false;
      }
      const files = (s.files ?? []).map((f) => ({ name: f.name, content: decodeContent(f) }));
      if (!files.length) throw new ApiError("The shared snippet has no files.", 200);
      this.applyWorkspace(l, { files, main: files[0].name, active: files[0].name });
      this.stdin.value = s.stdin ?? "";
      this.args.value = joinArgs(s.args ?? []);
      this.pristineSnippet = true;
      renderIdle(this.statusBar, `Opened shared code ${id}. Press Run to run it.`);
      toast(`Opened shared code ${id}`);
      return true;
    } catch (e) {
      const msg = e instanceof ApiError && e.status === 404
        ? `The shared link “${id}” does not exist (it may have expired).`
        : `Cannot open the shared link: ${(e as Error).message}`;
      showBanner(msg);
      renderIdle(this.statusBar, "Ready.");
      history.replaceState(null, "", location.pathname + location.hash);
      return false;
    }
  }

  // ---- languages and files ------------------------------------------------------------

  private switchLanguage(l: Language) {
    if (this.lang) this.saveWorkspace.flush();
    this.closeFileEdit();
    const saved = readJSON<Workspace>(KEY.ws(l.id));
    const ws = saved && Array.isArray(saved.files) && saved.files.length && saved.files.some((f) => f.name === saved.main)
      ? saved
      : this.templateWorkspace(l);
    this.applyWorkspace(l, ws);
    if (this.pristineSnippet) this.leaveSnippet();
    this.saved.lang = l.id;
    this.saved.version = l.version;
    this.saveState();
  }

  private templateWorkspace(l: Language): Workspace {
    const main = l.main_file || `main${l.extensions?.[0] ? `.${l.extensions[0].replace(/^\./, "")}` : ""}`;
    return { files: [{ name: main, content: l.template ?? "" }], main, active: main };
  }

  private applyWorkspace(l: Language, ws: Workspace) {
    this.lang = l;
    this.picker.select(l);
    const main = ws.files.find((f) => f.name === ws.main) ?? ws.files[0];
    const files = [main, ...ws.files.filter((f) => f !== main)];
    this.order = files.map((f) => f.name);
    this.main = main.name;
    this.editor.load(files, ws.active, this.main, l);
    this.renderFileTabs();
    this.runBtn.disabled = false;
    document.title = `${l.name} — runbox`;
  }

  private files(): FileEntry[] {
    return this.order.map((name) => ({ name, content: this.editor.content(name) }));
  }

  private persistWorkspace() {
    if (!this.lang || this.pristineSnippet) return;
    writeJSON(KEY.ws(this.lang.id), { files: this.files(), main: this.main, active: this.editor.activeFile });
  }

  private persistState() {
    if (this.pristineSnippet) return;
    if (this.lang) {
      this.saved.lang = this.lang.id;
      this.saved.version = this.lang.version;
    }
    this.saved.stdin = this.stdin.value;
    this.saved.args = this.args.value;
    this.saved.mode = this.mode;
    writeJSON(KEY.state, this.saved);
  }

  /** Anything the user changed: save it, and a shared link no longer describes the page. */
  private edited() {
    if (this.pristineSnippet) this.leaveSnippet();
    this.saveWorkspace();
    this.saveState();
  }

  private leaveSnippet() {
    this.pristineSnippet = false;
    const u = new URL(location.href);
    u.searchParams.delete("s");
    history.replaceState(null, "", u.pathname + u.search + u.hash);
  }

  private resetToTemplate() {
    if (!this.lang) return;
    if (!confirm(`Replace all files with the ${this.lang.name} template? Your code for ${this.lang.name} will be lost.`)) return;
    this.applyWorkspace(this.lang, this.templateWorkspace(this.lang));
    this.edited();
    this.editor.focus();
  }

  private renderFileTabs() {
    const host = $("#file-tabs");
    const active = this.editor.activeFile;
    const frag = document.createDocumentFragment();
    for (const name of this.order) {
      const isMain = name === this.main;
      const tab = el("button", {
        class: "file-tab",
        attrs: {
          type: "button", role: "tab", "data-file": name,
          "aria-selected": String(name === active), tabindex: name === active ? "0" : "-1",
          "aria-controls": "editor", title: isMain ? `${name} (main file)` : name,
        },
      }, el("span", { class: "file-tab-name", text: name }));
      if (isMain) tab.append(el("span", { class: "main-mark", text: "main", attrs: { "aria-label": "(main file)" } }));
      tab.addEventListener("click", () => this.showFile(name));
      tab.addEventListener("dblclick", () => this.openFileEdit({ kind: "rename", file: name }));
      frag.append(tab);
    }
    host.replaceChildren(frag);
    const activeIsMain = active === this.main;
    $<HTMLButtonElement>("#file-rename").disabled = !active;
    $<HTMLButtonElement>("#file-main").disabled = activeIsMain;
    $<HTMLButtonElement>("#file-delete").disabled = activeIsMain;
    $("#file-info").textContent = active ? `${active}${activeIsMain ? " · main file" : ""}${this.lang ? ` · ${this.lang.name}` : ""}` : "";
  }

  private showFile(name: string, focusTab = false) {
    this.editor.show(name);
    this.renderFileTabs();
    this.saveWorkspace();
    if (focusTab) $(`.file-tab[data-file="${CSS.escape(name)}"]`).focus();
  }

  private setupFileBar() {
    const tabs = $("#file-tabs");
    tabs.addEventListener("keydown", (e) => {
      const i = this.order.indexOf(this.editor.activeFile);
      let next = -1;
      if (e.key === "ArrowRight") next = (i + 1) % this.order.length;
      else if (e.key === "ArrowLeft") next = (i - 1 + this.order.length) % this.order.length;
      else if (e.key === "Home") next = 0;
      else if (e.key === "End") next = this.order.length - 1;
      else if (e.key === "F2") this.openFileEdit({ kind: "rename", file: this.editor.activeFile });
      else if (e.key === "Delete") this.deleteFile(this.editor.activeFile);
      if (next >= 0) {
        e.preventDefault();
        this.showFile(this.order[next], true);
      }
    });
    // Actions on the active file, next to the "+" button.
    const actions = el("div", { class: "file-actions" },
      this.iconButton("file-rename", "Rename file", '<path d="M10.5 2.5l3 3L6 13H3v-3z"/>'),
      this.iconButton("file-main", "Make this the main file", '<path d="M8 2l1.8 3.8 4.2.5-3.1 2.9.8 4.1L8 11.3 4.3 13.3l.8-4.1L2 6.3l4.2-.5z"/>'),
      this.iconButton("file-delete", "Delete file", '<path d="M3 4.5h10M6.5 4.5V3h3v1.5M4.5 4.5l.7 9h5.6l.7-9"/>'),
    );
    $("#add-file").before(actions);
    $("#add-file").addEventListener("click", () => this.openFileEdit({ kind: "add" }));
    $("#file-rename").addEventListener("click", () => this.openFileEdit({ kind: "rename", file: this.editor.activeFile }));
    $("#file-main").addEventListener("click", () => this.makeMain(this.editor.activeFile));
    $("#file-delete").addEventListener("click", () => this.deleteFile(this.editor.activeFile));

    const input = $<HTMLInputElement>("#file-name-input");
    $("#file-name-ok").addEventListener("click", () => this.commitFileEdit());
    $("#file-name-cancel").addEventListener("click", () => this.closeFileEdit(true));
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        this.commitFileEdit();
      } else if (e.key === "Escape") {
        e.preventDefault();
        this.closeFileEdit(true);
      }
    });
    input.addEventListener("input", () => {
      $("#file-name-error").textContent = "";
      input.removeAttribute("aria-invalid");
    });
  }

  private iconButton(id: string, label: string, path: string) {
    const b = el("button", { class: "btn btn-ghost btn-icon btn-sm", attrs: { type: "button", id, "aria-label": label, title: label } });
    b.innerHTML = `<svg viewBox="0 0 16 16" aria-hidden="true">${path}</svg>`;
    return b;
  }

  private openFileEdit(edit: { kind: "add" } | { kind: "rename"; file: string }) {
    if (!this.lang) return;
    this.fileEdit = edit;
    const input = $<HTMLInputElement>("#file-name-input");
    $("#file-name-label").textContent = edit.kind === "add" ? "New file name" : `Rename ${edit.file} to`;
    input.value = edit.kind === "add" ? suggestFileName(this.main, this.order) : edit.file;
    $("#file-name-error").textContent = "";
    input.removeAttribute("aria-invalid");
    $("#file-edit").hidden = false;
    input.focus();
    const dot = input.value.lastIndexOf(".");
    input.setSelectionRange(0, dot > 0 ? dot : input.value.length);
  }

  private closeFileEdit(refocus = false) {
    this.fileEdit = null;
    $("#file-edit").hidden = true;
    if (refocus) this.editor.focus();
  }

  private commitFileEdit() {
    const edit = this.fileEdit;
    if (!edit) return;
    const input = $<HTMLInputElement>("#file-name-input");
    const name = input.value.trim();
    if (edit.kind === "rename" && name === edit.file) return this.closeFileEdit(true);
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
      if (this.main === edit.file) {
        this.main = name;
        this.editor.setMain(name);
      }
    }
    this.renderFileTabs();
    this.closeFileEdit(true);
    this.edited();
  }

  private makeMain(name: string) {
    if (!name || name === this.main) return;
    this.main = name;
    this.order = [name, ...this.order.filter((n) => n !== name)];
    this.editor.setMain(name);
    this.renderFileTabs();
    this.edited();
    toast(`${name} is now the main file`);
  }

  private deleteFile(name: string) {
    if (!name || name === this.main) return;
    if (this.editor.content(name).trim() && !confirm(`Delete ${name}?`)) return;
    const i = this.order.indexOf(name);
    this.order.splice(i, 1);
    this.editor.remove(name);
    this.editor.show(this.order[Math.max(0, i - 1)]);
    this.renderFileTabs();
    this.edited();
    $(`.file-tab[aria-selected="true"]`)?.focus();
  }

  // ---- modes ---------------------------------------------------------------------------

  private setupTabs() {
    const tabs = [...document.querySelectorAll<HTMLButtonElement>(".panel-tabs [role=tab]")];
    tabs.forEach((t, i) => {
      t.addEventListener("click", () => this.setMode(t.dataset.mode as Mode, true));
      t.addEventListener("keydown", (e) => {
        let j = -1;
        if (e.key === "ArrowRight") j = (i + 1) % tabs.length;
        else if (e.key === "ArrowLeft") j = (i - 1 + tabs.length) % tabs.length;
        else if (e.key === "Home") j = 0;
        else if (e.key === "End") j = tabs.length - 1;
        if (j >= 0) {
          e.preventDefault();
          tabs[j].focus();
          this.setMode(tabs[j].dataset.mode as Mode, true);
        }
      });
    });
  }

  private setMode(mode: Mode, user: boolean) {
    if (this.term?.running && mode !== "interactive") {
      if (user) toast("Stop the interactive program first.");
      mode = "interactive";
    }
    this.mode = mode;
    for (const t of document.querySelectorAll<HTMLButtonElement>(".panel-tabs [role=tab]")) {
      const on = t.dataset.mode === mode;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      $(`#${t.getAttribute("aria-controls")}`).hidden = !on;
    }
    document.body.dataset.mode = mode;
    const note = $("#stdin-note");
    note.textContent = mode === "tests" ? "not used: each test has its own input"
      : mode === "interactive" ? "not used: type input in the terminal" : "";
    this.stdin.classList.toggle("is-unused", mode !== "run");
    if (mode === "interactive") {
      void this.loadTerminal().then((t) => {
        if (this.mode === "interactive") t.ensureOpen();
      });
    }
    this.updateRunButton();
    if (user) this.saveState();
  }

  private updateRunButton() {
    const b = this.runBtn;
    const label = b.querySelector(".run-text")!;
    const interactiveRunning = this.term?.running ?? false;
    b.classList.toggle("is-busy", this.busy);
    b.classList.toggle("is-stop", interactiveRunning);
    b.setAttribute("aria-busy", String(this.busy));
    b.disabled = !this.lang || this.busy;
    const idle = this.mode === "tests" ? "Run tests" : "Run";
    label.textContent = this.busy ? "Running…" : interactiveRunning ? "Stop" : idle;
    b.querySelector<HTMLElement>(".run-label")!.dataset.idle = idle;
    $<HTMLButtonElement>("#term-stop").disabled = !interactiveRunning;
  }

  // ---- running -------------------------------------------------------------------------

  private job(): JobRequest {
    const l = this.lang!;
    const job: JobRequest = { language: l.id, files: this.files(), main_file: this.main };
    // Name the version only when the server offers several of the same language.
    if (this.languages.filter((x) => x.id === l.id).length > 1) job.version = l.version;
    const args = splitArgs(this.args.value);
    if (args.length) job.args = args;
    return job;
  }

  private runCount = 0;

  run() {
    if (!this.lang || this.busy) return;
    if (this.mode === "interactive" && this.term?.running) {
      this.term.stop();
      return;
    }
    // Counts runs so tests can tell one result from the next.
    this.statusBar.dataset.run = String(++this.runCount);
    if (this.mode === "interactive") void this.runInteractive();
    else void this.runBatch();
  }

  private async runBatch() {
    const mode = this.mode;
    const job = this.job();
    let tests: TestCase[] = [];
    if (mode === "tests") {
      tests = this.tests.tests;
      job.tests = tests;
      job.compare = this.tests.compareMode as Compare;
    } else {
      job.stdin = this.stdin.value.replace(/\r\n/g, "\n");
    }
    this.busy = true;
    this.updateRunButton();
    renderRunning(this.statusBar, this.lang!.compiled ? "Compiling and running…" : "Running…");
    this.outputBody.setAttribute("aria-busy", "true");
    this.outputBody.classList.add("is-stale");
    let res: JobResult;
    try {
      res = await runJob(job);
    } catch (e) {
      const msg = (e as Error).message || "The run failed.";
      renderError(this.statusBar, msg);
      if (mode === "run") {
        this.outputBody.replaceChildren(el("div", { class: "output-error", attrs: { "data-error": "" } },
          el("p", { text: msg }), el("p", { class: "muted", text: "Your code is unchanged. Press Run to try again." })));
      }
      return;
    } finally {
      this.busy = false;
      this.outputBody.removeAttribute("aria-busy");
      this.outputBody.classList.remove("is-stale");
      this.updateRunButton();
    }
    try {
      this.showJob(res, mode);
    } catch (e) {
      renderError(this.statusBar, `The server's answer could not be shown: ${(e as Error).message}`);
    }
  }

  private showJob(res: JobResult, mode: Mode) {
    const cases = Array.isArray(res.cases) ? res.cases : [];
    const ce = res.status === "CE";
    const onLoc = (file: string, line: number, col: number) => this.gotoLocation(file, line, col);
    const blocks: HTMLElement[] = [];
    if (res.compile && (ce || res.compile.stdout || res.compile.stderr)) {
      const cout = res.compile.stdout ?? "";
      const text = [cout, res.compile.stderr ?? ""].filter(Boolean).join(cout.endsWith("\n") ? "" : "\n");
      blocks.push(streamBlock({
        id: "compile", title: ce ? "Compiler errors" : "Compiler output", text,
        files: this.order, onLoc, tone: ce ? "error" : "normal", emptyText: res.compile.message,
        serverTruncated: res.compile.stdout_truncated || res.compile.stderr_truncated,
      }));
    }

    if (mode === "tests") {
      this.tests.showResults(res);
      if (ce && blocks[0]) $("#test-list").prepend(blocks[0]);
      const worst = cases.find((c) => c.verdict !== "AC") ?? cases[0];
      const passed = cases.filter((c) => c.verdict === "AC").length;
      renderStatus(this.statusBar, {
        status: res.status,
        result: ce ? res.compile : worst?.result,
        message: ce ? res.compile?.message : worst && worst.verdict === "WA" ? `${cases.length - passed} of ${cases.length} tests gave a wrong answer` : undefined,
        summary: ce ? undefined : `${passed} / ${cases.length}`,
      });
      return;
    }

    const r: Result | undefined = cases[0]?.result;
    if (!ce && r) {
      blocks.push(streamBlock({ id: "stdout", title: "Output", text: r.stdout ?? "", serverTruncated: r.stdout_truncated, emptyText: "(no output)" }));
      blocks.push(streamBlock({
        id: "stderr", title: "Errors (stderr)", text: r.stderr ?? "", serverTruncated: r.stderr_truncated,
        files: this.order, onLoc, tone: "error", emptyText: "(none)",
      }));
    }
    this.outputBody.replaceChildren(...blocks);
    this.outputBody.scrollTop = 0;
    renderStatus(this.statusBar, { status: res.status, result: ce ? res.compile : r, message: ce ? res.compile?.message : r?.message });
  }

  private gotoLocation(file: string, line: number, col: number) {
    if (!this.order.includes(file)) return;
    this.editor.goto(file, line, col);
    this.renderFileTabs();
  }

  private async runInteractive() {
    const job = this.job();
    let term: InteractiveTerminal;
    this.busy = true; // until the terminal code has loaded: no second start
    this.updateRunButton();
    try {
      term = await this.loadTerminal();
    } catch {
      renderError(this.statusBar, "The terminal could not be loaded. Reload the page and try again.");
      return;
    } finally {
      this.busy = false;
      this.updateRunButton();
    }
    term.ensureOpen();
    let compileFailed: Result | null = null;
    renderRunning(this.statusBar, this.lang!.compiled ? "Compiling…" : "Starting…");
    term.start(job, {
      onCompile: (r) => {
        if (r.status !== "OK") compileFailed = r;
      },
      onStarted: () => renderRunning(this.statusBar, "Running — type input in the terminal"),
      onExit: (r) => {
        if (compileFailed) renderStatus(this.statusBar, { status: "CE", result: compileFailed, message: compileFailed.message });
        else renderStatus(this.statusBar, { status: r.status, result: r });
      },
      onError: (msg) => {
        if (compileFailed) renderStatus(this.statusBar, { status: "CE", result: compileFailed, message: compileFailed.message });
        else renderError(this.statusBar, msg);
      },
      onEnd: () => this.updateRunButton(),
    });
    this.updateRunButton();
    term.focus();
  }

  private loadTerminal(): Promise<InteractiveTerminal> {
    if (!this.termLoading) {
      this.termLoading = import("./terminal").then(({ InteractiveTerminal }) => {
        const t = new InteractiveTerminal($("#term-host"));
        t.setDark(document.documentElement.dataset.theme === "dark");
        this.term = t;
        return t;
      });
      this.termLoading.catch(() => (this.termLoading = null));
    }
    return this.termLoading;
  }

  private renderOutputPlaceholder() {
    this.outputBody.replaceChildren(el("div", { class: "output-empty" },
      el("p", { text: "Output appears here." }),
      el("p", { class: "muted", text: `Write code, add input if it reads any, then press Run (${isMac ? "⌘ Enter" : "Ctrl+Enter"}).` })));
  }

  // ---- sharing -------------------------------------------------------------------------

  private async share() {
    if (!this.lang) return;
    const btn = $<HTMLButtonElement>("#share-btn");
    btn.disabled = true;
    btn.setAttribute("aria-busy", "true");
    try {
      const { id } = await createSnippet({
        language: this.lang.id,
        files: this.files(),
        stdin: this.stdin.value.replace(/\r\n/g, "\n"),
        args: splitArgs(this.args.value),
      });
      this.saveWorkspace.flush();
      this.saveState.flush();
      const u = new URL(location.href);
      u.search = `?s=${encodeURIComponent(id)}`;
      u.hash = "";
      history.replaceState(null, "", u.pathname + u.search);
      this.pristineSnippet = true;
      const input = $<HTMLInputElement>("#share-url");
      input.value = u.toString();
      $<HTMLAnchorElement>("#share-open").href = u.toString();
      const dlg = $<HTMLDialogElement>("#share-dialog");
      dlg.showModal();
      input.select();
    } catch (e) {
      showBanner(`Could not create a share link. ${(e as Error).message}`);
      setTimeout(hideBanner, 8000);
    } finally {
      btn.disabled = false;
      btn.removeAttribute("aria-busy");
    }
  }

  private setupShareDialog() {
    $("#share-copy").addEventListener("click", async () => {
      const input = $<HTMLInputElement>("#share-url");
      input.select();
      try {
        await navigator.clipboard.writeText(input.value);
        $("#share-copy").textContent = "Copied";
      } catch {
        document.execCommand?.("copy");
        $("#share-copy").textContent = "Copied";
      }
      setTimeout(() => ($("#share-copy").textContent = "Copy"), 1500);
    });
  }

  // ---- theme ---------------------------------------------------------------------------

  private setupTheme() {
    const root = document.documentElement;
    const media = matchMedia("(prefers-color-scheme: dark)");
    const apply = (t: "light" | "dark") => {
      root.dataset.theme = t;
      const btn = $("#theme-btn");
      btn.setAttribute("aria-pressed", String(t === "dark"));
      btn.title = t === "dark" ? "Switch to the light theme" : "Switch to the dark theme";
      this.term?.setDark(t === "dark");
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
}

const app = new App();
// For debugging from the console; the tests use only the DOM.
(window as unknown as { runbox: App }).runbox = app;
