// The Interactive tab: xterm.js is loaded on first use (keeping the first load small), and a run
// reports its compile step, start, exit and errors to the status bar.
import type { JobRequest, Result } from "./api";
import { renderError, renderRunning, renderStatus } from "./output";
import { $ } from "./page";
import type { InteractiveTerminal } from "./terminal";
import { isDark } from "./theme";

export class InteractivePanel {
  private term: InteractiveTerminal | null = null;
  private loading: Promise<InteractiveTerminal> | null = null;

  constructor(private readonly statusBar: HTMLElement) {}

  get running(): boolean {
    return this.term?.running ?? false;
  }

  stop() {
    this.term?.stop();
  }

  setDark(dark: boolean) {
    this.term?.setDark(dark);
  }

  /** Loads the terminal and opens it while `stillWanted()` holds. */
  open(stillWanted: () => boolean) {
    void this.load().then((t) => {
      if (stillWanted()) t.ensureOpen();
    });
  }

  load(): Promise<InteractiveTerminal> {
    if (!this.loading) {
      this.loading = import("./terminal").then(({ InteractiveTerminal }) => {
        const t = new InteractiveTerminal($("#term-host"));
        t.setDark(isDark());
        this.term = t;
        return t;
      });
      this.loading.catch(() => (this.loading = null));
    }
    return this.loading;
  }

  /** Starts `job`. `setBusy` covers the wait for the terminal code; `onStateChange` runs when the
   * session has started and again when it is over. */
  async run(job: JobRequest, compiled: boolean, setBusy: (busy: boolean) => void, onStateChange: () => void) {
    let term: InteractiveTerminal;
    setBusy(true); // until the terminal code has loaded: no second start
    try {
      term = await this.load();
    } catch {
      renderError(this.statusBar, "The terminal could not be loaded. Reload the page and try again.");
      return;
    } finally {
      setBusy(false);
    }
    term.ensureOpen();
    let compileFailed: Result | null = null;
    const bar = this.statusBar;
    renderRunning(bar, compiled ? "Compiling…" : "Starting…");
    term.start(job, {
      onCompile: (r) => {
        if (r.status !== "OK") compileFailed = r;
      },
      onStarted: () => renderRunning(bar, "Running — type input in the terminal"),
      onExit: (r) => {
        if (compileFailed) renderStatus(bar, { status: "CE", result: compileFailed, message: compileFailed.message });
        else renderStatus(bar, { status: r.status, result: r });
      },
      onError: (msg) => {
        if (compileFailed) renderStatus(bar, { status: "CE", result: compileFailed, message: compileFailed.message });
        else renderError(bar, msg);
      },
      onEnd: onStateChange,
    });
    onStateChange();
    term.focus();
  }
}
