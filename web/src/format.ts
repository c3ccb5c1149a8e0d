// Pure helpers with no DOM or library imports, so test/unit.test.mjs can load them in node.

/** Status codes of docs/api.md, with how the page labels and colours them. */
export type StatusCode =
  | "OK" | "RE" | "SG" | "TLE" | "MLE" | "OLE" | "SE" | "CE" | "AC" | "WA";

export interface StatusInfo {
  /** Short human label shown next to the badge. */
  label: string;
  /** CSS modifier: good | bad | warn | limit | system | neutral. */
  tone: "good" | "bad" | "warn" | "limit" | "system" | "neutral";
}

const STATUS: Record<string, StatusInfo> = {
  OK: { label: "Success", tone: "good" },
  AC: { label: "Accepted", tone: "good" },
  WA: { label: "Wrong answer", tone: "bad" },
  RE: { label: "Runtime error", tone: "bad" },
  SG: { label: "Killed by signal", tone: "bad" },
  CE: { label: "Compile error", tone: "warn" },
  TLE: { label: "Time limit exceeded", tone: "limit" },
  MLE: { label: "Memory limit exceeded", tone: "limit" },
  OLE: { label: "Output limit exceeded", tone: "limit" },
  SE: { label: "System error", tone: "system" },
};

export function statusInfo(status: string | null | undefined): StatusInfo {
  if (!status) return { label: "", tone: "neutral" };
  return STATUS[status] ?? { label: status, tone: "neutral" };
}

/** 12 -> "12 ms", 1234 -> "1.23 s". */
export function formatMs(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

/** KiB -> "3.4 MB" style (binary units, labelled as such). */
export function formatKiB(kib: number | null | undefined): string {
  if (kib == null || !Number.isFinite(kib)) return "–";
  if (kib < 1024) return `${Math.round(kib)} KiB`;
  const mib = kib / 1024;
  if (mib < 1024) return `${mib.toFixed(mib < 10 ? 2 : 1)} MiB`;
  return `${(mib / 1024).toFixed(2)} GiB`;
}

/** Byte counts for notes such as "showing 1.0 MB of 5.3 MB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Splits a command-line arguments field the way a POSIX shell would split words, without any
 * expansion: whitespace separates, '...' is literal, "..." allows \" and \\, and a backslash
 * outside quotes escapes the next character. An unterminated quote runs to the end.
 */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "'") {
      inWord = true;
      const end = text.indexOf("'", i + 1);
      const stop = end < 0 ? text.length : end;
      cur += text.slice(i + 1, stop);
      i = stop + 1;
    } else if (c === '"') {
      inWord = true;
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\" && i + 1 < text.length && /["\\$`]/.test(text[i + 1])) i++;
        cur += text[i++];
      }
      i++;
    } else if (c === "\\" && i + 1 < text.length) {
      inWord = true;
      cur += text[i + 1];
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
      i++;
    } else {
      inWord = true;
      cur += c;
      i++;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/** The inverse of splitArgs for restoring a saved args array into the text field. */
export function joinArgs(args: readonly string[]): string {
  return args
    .map((a) => (a !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(" ");
}

/** A piece of compiler/runtime output: plain text, or a clickable source location. */
export type Segment =
  | { kind: "text"; text: string }
  | { kind: "loc"; text: string; file: string; line: number; column: number };

const basename = (p: string) => p.slice(p.lastIndexOf("/") + 1);

// `main.cpp:3:5: error`, `./main.go:3:5`, ` --> src/main.rs:3:5`, `Main.java:3: error`,
// and Python's `File "/box/main.py", line 3`.
const LOC_RE =
  /File "([^"\n]+)", line (\d+)|((?:[A-Za-z]:)?[\w.\-/+]*[\w\-+]\.[A-Za-z0-9+]+):(\d+)(?::(\d+))?/g;

/**
 * Cuts text into segments where every `file:line[:col]` that names one of `files` (compared by
 * base name, since compilers print paths inside the box) becomes a location segment.
 */
export function linkifyLocations(text: string, files: readonly string[]): Segment[] {
  const known = new Set(files.map(basename));
  const segs: Segment[] = [];
  let last = 0;
  LOC_RE.lastIndex = 0;
  for (let m = LOC_RE.exec(text); m; m = LOC_RE.exec(text)) {
    const file = basename(m[1] ?? m[3]);
    if (!known.has(file)) continue;
    const line = Number(m[2] ?? m[4]);
    const column = m[5] ? Number(m[5]) : 1;
    if (!(line > 0)) continue;
    if (m.index > last) segs.push({ kind: "text", text: text.slice(last, m.index) });
    segs.push({ kind: "loc", text: m[0], file, line, column });
    last = m.index + m[0].length;
  }
  if (last < text.length) segs.push({ kind: "text", text: text.slice(last) });
  return segs;
}

/** Caps text for display. `shown` is what to render; `cut` tells whether anything was left out. */
export function capText(text: string, maxChars: number): { shown: string; cut: boolean } {
  if (text.length <= maxChars) return { shown: text, cut: false };
  // Do not split a surrogate pair.
  let end = maxChars;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return { shown: text.slice(0, end), cut: true };
}

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.+\-]*$/;

/** Returns an error message for a bad file name, or null when the name is fine. */
export function validateFileName(name: string, others: readonly string[]): string | null {
  if (!name) return "A file needs a name.";
  if (name.length > 100) return "File names are at most 100 characters.";
  if (name.includes("/") || name.includes("\\")) return "File names cannot contain slashes.";
  if (name === "." || name === ".." || !NAME_RE.test(name))
    return "Use letters, digits, '.', '_', '-' or '+' (not starting with '.' or '-').";
  if (others.includes(name)) return `There is already a file named ${name}.`;
  return null;
}

/** A free name like "file2.py" for a new tab, using the main file's extension. */
export function suggestFileName(mainFile: string, existing: readonly string[]): string {
  const dot = mainFile.lastIndexOf(".");
  const ext = dot > 0 ? mainFile.slice(dot) : ".txt";
  for (let i = 1; ; i++) {
    const name = `file${i}${ext}`;
    if (!existing.includes(name)) return name;
  }
}

/** Text that matches a language entry in the picker's search (id, name, version, aliases, ext). */
export function languageMatches(
  lang: { id: string; name: string; version: string; aliases?: string[]; extensions?: string[] },
  query: string,
): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  const hay = [lang.id, lang.name, lang.version, ...(lang.aliases ?? []), ...(lang.extensions ?? [])]
    .join(" ")
    .toLowerCase();
  return q.split(/\s+/).every((w) => hay.includes(w));
}
