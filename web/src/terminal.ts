// Interactive runs: an xterm.js terminal talking the WebSocket protocol of docs/api.md
// (`GET /api/v1/ws/run`). The program has pipes, not a tty, so the terminal does the line
// editing itself, like a cooked tty: typed characters are echoed locally and each finished line
// is sent as `{"type":"stdin"}`. Ctrl+C sends SIGINT, Ctrl+D closes stdin.
import { Terminal, type ITheme } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import "@xterm/xterm/css/xterm.css";
import { wsUrl, type JobRequest, type Result } from "./api";

const LIGHT: ITheme = {
  background: "#fbfbfd", foreground: "#1f2328", cursor: "#0b6bcb", cursorAccent: "#fbfbfd",
  selectionBackground: "#b6d4fe", red: "#c62828", green: "#2e7d32", yellow: "#9a6700",
  blue: "#0b6bcb", brightBlack: "#6e7781",
};
const DARK: ITheme = {
  background: "#0f1419", foreground: "#d7dde4", cursor: "#5eb1ff", cursorAccent: "#0f1419",
  selectionBackground: "#264f78", red: "#ff7b72", green: "#56d364", yellow: "#e3b341",
  blue: "#5eb1ff", brightBlack: "#8b949e",
};

const DIM = "\x1b[90m";
const RED = "\x1b[31m";
const RESET = "\x1b[0m";
const INPUT = "\x1b[1;34m";

export interface SessionEvents {
  onStarted(): void;
  onCompile(r: Result): void;
  onExit(r: Result): void;
  onError(message: string): void;
  /** Called once when the session is over for any reason. */
  onEnd(): void;
}

export class InteractiveTerminal {
  readonly term: Terminal;
  private readonly fit = new FitAddon();
  private ws: WebSocket | null = null;
  private line = "";
  private ev: SessionEvents | null = null;
  private gotExit = false;
  private ended = true;
  private killTimer = 0;
  private opened = false;

  constructor(private readonly host: HTMLElement) {
    this.term = new Terminal({
      convertEol: true,
      cursorBlink: true,
      fontFamily: getComputedStyle(document.documentElement).getPropertyValue("--mono").trim() || "monospace",
      fontSize: 13,
      scrollback: 5000,
      theme: LIGHT,
      screenReaderMode: false,
    });
    this.term.loadAddon(this.fit);
    this.term.onData((d) => this.onData(d));
    new ResizeObserver(() => this.refit()).observe(host);
  }

  /** xterm measures its container, so it is opened the first time its tab is shown. */
  ensureOpen() {
    if (!this.opened) {
      this.term.open(this.host);
      this.opened = true;
      this.term.textarea?.setAttribute("aria-label", "Interactive terminal: type input for the program, Enter sends a line");
      this.term.writeln(`${DIM}Press Run to start the program here. Type a line and press Enter to send it as input;${RESET}`);
      this.term.writeln(`${DIM}Ctrl+C interrupts, Ctrl+D ends the input.${RESET}`);
    }
    this.refit();
  }

  refit() {
    if (!this.opened || this.host.offsetParent === null) return;
    try {
      this.fit.fit();
    } catch {
      /* not measurable yet */
    }
  }

  setDark(dark: boolean) {
    this.term.options.theme = dark ? DARK : LIGHT;
  }

  get running() {
    return !this.ended;
  }

  focus() {
    this.term.focus();
  }

  start(job: JobRequest, ev: SessionEvents) {
    this.ensureOpen();
    this.dispose();
    this.ev = ev;
    this.gotExit = false;
    this.ended = false;
    this.line = "";
    this.term.reset();
    this.term.writeln(`${DIM}── ${job.language}: ${job.main_file ?? ""} ──${RESET}`);
    let ws: WebSocket;
    try {
      ws = new WebSocket(wsUrl("api/v1/ws/run"));
    } catch {
      this.fail("Cannot open the interactive connection.");
      return;
    }
    this.ws = ws;
    let wasOpen = false;
    ws.onopen = () => {
      wasOpen = true;
      ws.send(JSON.stringify({ type: "start", ...job }));
    };
    ws.onmessage = (m) => {
      if (ws !== this.ws) return;
      let msg: { type?: string; data?: string; result?: Result };
      try {
        msg = JSON.parse(String(m.data));
      } catch {
        return;
      }
      switch (msg.type) {
        case "compile":
          if (msg.result) {
            if (msg.result.status !== "OK") {
              const text = [msg.result.stdout, msg.result.stderr].filter(Boolean).join("\n");
              if (text) this.term.write(RED + text + RESET + (text.endsWith("\n") ? "" : "\n"));
            }
            this.ev?.onCompile(msg.result);
          }
          break;
        case "started":
          this.ev?.onStarted();
          this.term.focus();
          break;
        case "stdout":
          if (msg.data) this.term.write(msg.data);
          break;
        case "stderr":
          if (msg.data) this.term.write(RED + msg.data + RESET);
          break;
        case "exit":
          this.gotExit = true;
          if (msg.result) {
            const r = msg.result;
            this.term.write(`\n${DIM}── ${r.status}: ${r.message} ──${RESET}\n`);
            this.ev?.onExit(r);
          }
          this.finish();
          break;
      }
    };
    ws.onclose = (e) => {
      if (ws !== this.ws) return;
      if (!this.gotExit && !this.ended) {
        this.fail(
          wasOpen
            ? `The connection closed before the program finished${e.reason ? `: ${e.reason}` : ""} (code ${e.code}).`
            : "Cannot open the interactive connection: the server refused it or cannot be reached (it may be busy).",
        );
      } else {
        this.finish();
      }
    };
  }

  /** Asks the server to kill the program; gives up on the connection if it does not answer. */
  stop() {
    if (!this.ws || this.ended) return;
    this.send({ type: "kill" });
    this.term.write(`${DIM}^ stop${RESET}\n`);
    clearTimeout(this.killTimer);
    this.killTimer = window.setTimeout(() => {
      if (!this.ended) this.fail("The server did not confirm the stop; the connection was closed.");
    }, 5000);
  }

  private send(msg: object) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private fail(message: string) {
    if (this.ended) return;
    this.term.write(`\n${RED}${message}${RESET}\n`);
    this.ev?.onError(message);
    this.finish();
  }

  private finish() {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.killTimer);
    const ev = this.ev;
    this.dispose();
    ev?.onEnd();
  }

  private dispose() {
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000);
  }

  private onData(data: string) {
    if (this.ended || !this.ws) return;
    if (data.startsWith("\x1b")) return; // arrows, function keys: no history or cursor movement
    for (const ch of data.replace(/\r\n/g, "\r").replace(/\n/g, "\r")) {
      if (ch === "\r") {
        this.term.write("\r\n");
        this.send({ type: "stdin", data: this.line + "\n" });
        this.line = "";
      } else if (ch === "\x7f" || ch === "\b") {
        if (this.line) {
          const chars = Array.from(this.line);
          chars.pop();
          this.line = chars.join("");
          this.term.write("\b \b");
        }
      } else if (ch === "\x03") {
        this.term.write("^C\r\n");
        this.line = "";
        this.send({ type: "signal", signal: "SIGINT" });
      } else if (ch === "\x04") {
        if (this.line) {
          this.send({ type: "stdin", data: this.line });
          this.line = "";
        } else {
          this.term.write(`${DIM}^D${RESET}\r\n`);
          this.send({ type: "stdin_close" });
        }
      } else if (ch === "\x15") {
        // Ctrl+U: erase the line being typed.
        this.term.write("\b \b".repeat(Array.from(this.line).length));
        this.line = "";
      } else if (ch >= " " || ch === "\t") {
        this.line += ch;
        this.term.write(INPUT + ch + RESET); // what the person typed stands out from output
      }
    }
  }
}
