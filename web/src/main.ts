// The runbox web IDE: wires the language picker, editor, file bar, input, run modes (batch run,
// test cases, interactive terminal), sharing and themes together. Each part of the page has its
// own file (file-bar.ts, tests-panel.ts, interactive-panel.ts, result-view.ts, share.ts,
// theme.ts); this one holds the languages, the saved state and the run button. Only the public
// API of docs/api.md is used.
import "./style.css";
import {
  ApiError, getLanguages, getSnippet, runJob,
  type Compare, type JobRequest, type JobResult, type Language, type TestCase,
} from "./api";
import { CodeEditor } from "./editor";
import { FileBar, type FileEntry } from "./file-bar";
import { joinArgs, splitArgs } from "./format";
import { InteractivePanel } from "./interactive-panel";
import { LangPicker } from "./lang-picker";
import { el, renderError, renderIdle, renderRunning } from "./output";
import { $, KEY, debounce, decodeContent, hideBanner, readJSON, runShortcut, showBanner, toast, writeJSON } from "./page";
import { showJob } from "./result-view";
import { setupShare } from "./share";
import { TestsPanel, type TestsState } from "./tests-panel";
import { setupTheme } from "./theme";

type Mode = "run" | "tests" | "interactive";

interface Workspace { files: FileEntry[]; main: string; active: string }
interface SavedState {
  lang?: string;
  version?: string;
  stdin?: string;
  args?: string;
  mode?: Mode;
  tests?: TestsState;
}

class App {
  private languages: Language[] = [];
  private lang: Language | undefined;
  private mode: Mode = "run";
  private busy = false;
  private saved: SavedState = readJSON<SavedState>(KEY.state) ?? {};
  /** Opened from a share link and not edited since: nothing is saved, the URL keeps ?s=. */
  private pristineSnippet = false;
  private runCount = 0;

  private readonly runBtn = $<HTMLButtonElement>("#run-btn");
  private readonly statusBar = $("#status-bar");
  private readonly outputBody = $("#output-body");
  private readonly stdin = $<HTMLTextAreaElement>("#stdin");
  private readonly args = $<HTMLInputElement>("#args");
  private readonly editor: CodeEditor;
  private readonly fileBar: FileBar;
  private readonly picker: LangPicker;
  private readonly tests: TestsPanel;
  private readonly interactive = new InteractivePanel(this.statusBar);

  private readonly saveWorkspace = debounce(() => this.persistWorkspace(), 300);
  private readonly saveState = debounce(() => this.persistState(), 300);

  constructor() {
    this.editor = new CodeEditor($("#editor"), {
      onChange: () => this.edited(),
      onCursor: (line, col) => ($("#cursor-pos").textContent = `Ln ${line}, Col ${col}`),
      onRun: () => this.run(),
    });
    this.fileBar = new FileBar(this.editor, {
      onEdited: () => this.edited(),
      onShown: () => this.saveWorkspace(),
      languageName: () => this.lang?.name,
    });
    this.picker = new LangPicker($("#lang-picker"), (l) => this.switchLanguage(l));
    this.tests = new TestsPanel($("#panel-tests"), this.saved.tests ?? { cases: [], compare: "trailing_whitespace" }, (s) => {
      this.saved.tests = s;
      this.saveState();
    });

    $("#run-kbd").textContent = runShortcut;
    this.runBtn.title = `Run (${runShortcut})`;
    this.runBtn.addEventListener("click", () => this.run());
    $("#term-stop").addEventListener("click", () => this.interactive.stop());
    $("#reset-btn").addEventListener("click", () => this.resetToTemplate());
    this.stdin.value = this.saved.stdin ?? "";
    this.args.value = this.saved.args ?? "";
    this.stdin.addEventListener("input", () => this.edited());
    this.args.addEventListener("input", () => this.edited());
    this.setupTabs();
    setupTheme((dark) => this.interactive.setDark(dark));
    setupShare({
      snippet: () => this.lang && {
        language: this.lang.id,
        files: this.fileBar.files(),
        stdin: this.stdin.value.replace(/\r\n/g, "\n"),
        args: splitArgs(this.args.value),
      },
      onShared: () => {
        this.saveWorkspace.flush();
        this.saveState.flush();
        this.pristineSnippet = true;
      },
    });

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

  // ---- languages and saved state ----------------------------------------------------------

  private switchLanguage(l: Language) {
    if (this.lang) this.saveWorkspace.flush();
    this.fileBar.closeEdit();
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
    this.editor.load(files, ws.active, main.name, l);
    this.fileBar.load(files, main);
    this.runBtn.disabled = false;
    document.title = `${l.name} — runbox`;
  }

  private persistWorkspace() {
    if (!this.lang || this.pristineSnippet) return;
    writeJSON(KEY.ws(this.lang.id), { files: this.fileBar.files(), main: this.fileBar.main, active: this.editor.activeFile });
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
    if (this.interactive.running && mode !== "interactive") {
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
    if (mode === "interactive") this.interactive.open(() => this.mode === "interactive");
    this.updateRunButton();
    if (user) this.saveState();
  }

  private updateRunButton() {
    const b = this.runBtn;
    const label = b.querySelector(".run-text")!;
    const interactiveRunning = this.interactive.running;
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
    const job: JobRequest = { language: l.id, files: this.fileBar.files(), main_file: this.fileBar.main };
    // Name the version only when the server offers several of the same language.
    if (this.languages.filter((x) => x.id === l.id).length > 1) job.version = l.version;
    const args = splitArgs(this.args.value);
    if (args.length) job.args = args;
    return job;
  }

  run() {
    if (!this.lang || this.busy) return;
    if (this.mode === "interactive" && this.interactive.running) {
      this.interactive.stop();
      return;
    }
    // Counts runs so tests can tell one result from the next.
    this.statusBar.dataset.run = String(++this.runCount);
    if (this.mode === "interactive") {
      void this.interactive.run(this.job(), !!this.lang.compiled, (busy) => {
        this.busy = busy;
        this.updateRunButton();
      }, () => this.updateRunButton());
    } else {
      void this.runBatch();
    }
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
      showJob(res, mode === "tests", {
        statusBar: this.statusBar, outputBody: this.outputBody, tests: this.tests,
        files: this.fileBar.names, onLoc: (file, line, col) => this.gotoLocation(file, line, col),
      });
    } catch (e) {
      renderError(this.statusBar, `The server's answer could not be shown: ${(e as Error).message}`);
    }
  }

  private gotoLocation(file: string, line: number, col: number) {
    if (!this.fileBar.names.includes(file)) return;
    this.editor.goto(file, line, col);
    this.fileBar.render();
  }

  private renderOutputPlaceholder() {
    this.outputBody.replaceChildren(el("div", { class: "output-empty" },
      el("p", { text: "Output appears here." }),
      el("p", { class: "muted", text: `Write code, add input if it reads any, then press Run (${runShortcut}).` })));
  }
}

const app = new App();
// For debugging from the console; the tests use only the DOM.
(window as unknown as { runbox: App }).runbox = app;
