// Which CodeMirror language mode highlights a file. Uses @codemirror/language-data, which maps
// file names and language names to lazily loaded packages (@codemirror/lang-* and the legacy
// modes), so each mode is its own chunk in dist/ and loads only when a file needs it.
import type { Extension } from "@codemirror/state";
import { LanguageDescription } from "@codemirror/language";
import { languages } from "@codemirror/language-data";

// Catalog names that language-data does not know, mapped to the closest mode it has.
const NEAR: Record<string, string> = {
  bash: "Shell", sh: "Shell", fish: "Shell", zsh: "Shell", dash: "Shell",
  elixir: "Ruby", racket: "Scheme", guile: "Scheme", "emacs lisp": "Common Lisp",
  elisp: "Common Lisp", sbcl: "Common Lisp", lisp: "Common Lisp", node: "JavaScript",
  nodejs: "JavaScript", "node.js": "JavaScript", python3: "Python", pypy: "Python",
  cython: "Cython", "objective-c": "Objective-C", objc: "Objective-C", nasm: "Gas",
  assembly: "Gas", octave: "Octave", sqlite: "SQLite", sqlite3: "SQLite", gawk: "Shell",
  awk: "Shell", vb: "VB.NET", csharp: "C#", "c#": "C#", fsharp: "F#", "f#": "F#",
};
const NEAR_EXT: Record<string, string> = {
  el: "Common Lisp", rkt: "Scheme", ex: "Ruby", exs: "Ruby", asm: "Gas", s: "Gas",
  fish: "Shell", bc: "", kts: "Kotlin", pyx: "Cython",
};

function byName(name: string): LanguageDescription | null {
  const n = name.trim().toLowerCase();
  const near = NEAR[n];
  if (near) return LanguageDescription.matchLanguageName(languages, near, false);
  return LanguageDescription.matchLanguageName(languages, n, false);
}

/** The mode for `fileName`; for the main file, the catalog language decides when the name does not. */
export function describe(
  fileName: string,
  lang?: { id: string; name: string; aliases?: string[] },
): LanguageDescription | null {
  const ext = fileName.includes(".") ? fileName.slice(fileName.lastIndexOf(".") + 1).toLowerCase() : "";
  if (ext in NEAR_EXT) return NEAR_EXT[ext] ? byName(NEAR_EXT[ext]) : null;
  const m = LanguageDescription.matchFilename(languages, fileName);
  if (m) return m;
  if (!lang) return null;
  for (const n of [lang.id, lang.name, ...(lang.aliases ?? [])]) {
    const d = byName(n);
    if (d) return d;
  }
  return null;
}

const cache = new Map<LanguageDescription, Promise<Extension>>();

/** Loads a mode (once); resolves to [] when it cannot be loaded, so highlighting just stays off. */
export function loadMode(desc: LanguageDescription | null): Promise<Extension> {
  if (!desc) return Promise.resolve([]);
  let p = cache.get(desc);
  if (!p) {
    p = desc.load().then((support) => support as Extension, () => [] as Extension);
    cache.set(desc, p);
  }
  return p;
}
