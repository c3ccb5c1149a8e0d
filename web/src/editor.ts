// The code editor: one CodeMirror view that shows one of several per-file EditorStates, so each
// file keeps its own undo history, selection and scroll position.
import { basicSetup } from "codemirror";
import { EditorView, keymap } from "@codemirror/view";
import { Compartment, EditorSelection, EditorState, Prec, type Extension } from "@codemirror/state";
import { indentWithTab } from "@codemirror/commands";
import { HighlightStyle, indentUnit, syntaxHighlighting } from "@codemirror/language";
import { tags as t } from "@lezer/highlight";
import { describe, loadMode } from "./lang-modes";
import type { Language } from "./api";

// Colours come from CSS variables (style.css), so switching the page theme needs no reconfigure.
const theme = EditorView.theme({
  "&": { height: "100%", color: "var(--ed-fg)", backgroundColor: "var(--ed-bg)", fontSize: "14px" },
  ".cm-scroller": { fontFamily: "var(--mono)", lineHeight: "1.55" },
  ".cm-content": { caretColor: "var(--ed-caret)", padding: "8px 0" },
  ".cm-cursor, .cm-dropCursor": { borderLeftColor: "var(--ed-caret)", borderLeftWidth: "2px" },
  ".cm-gutters": {
    backgroundColor: "var(--ed-gutter-bg)", color: "var(--ed-gutter-fg)", border: "none",
    borderRight: "1px solid var(--border)",
  },
  ".cm-activeLineGutter": { backgroundColor: "var(--ed-active-gutter)", color: "var(--fg)" },
  ".cm-activeLine": { backgroundColor: "var(--ed-active-line)" },
  "&.cm-focused .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection": {
    backgroundColor: "var(--ed-selection) !important",
  },
  ".cm-matchingBracket, &.cm-focused .cm-matchingBracket": {
    backgroundColor: "var(--ed-bracket)", outline: "1px solid var(--ed-bracket-outline)",
  },
  ".cm-searchMatch": { backgroundColor: "var(--ed-search)" },
  ".cm-searchMatch.cm-searchMatch-selected": { backgroundColor: "var(--ed-search-sel)" },
  ".cm-panels": { backgroundColor: "var(--panel-2)", color: "var(--fg)" },
  ".cm-panels.cm-panels-bottom": { borderTop: "1px solid var(--border)" },
  ".cm-tooltip": { backgroundColor: "var(--panel)", color: "var(--fg)", border: "1px solid var(--border)" },
  ".cm-tooltip-autocomplete ul li[aria-selected]": { backgroundColor: "var(--accent)", color: "#fff" },
  ".cm-foldPlaceholder": { backgroundColor: "var(--panel-2)", color: "var(--muted)", border: "none" },
  "&.cm-focused": { outline: "none" },
});

const highlight = HighlightStyle.define([
  { tag: [t.keyword, t.controlKeyword, t.moduleKeyword, t.operatorKeyword], color: "var(--tok-keyword)" },
  { tag: [t.definitionKeyword, t.modifier, t.self], color: "var(--tok-keyword)" },
  { tag: [t.string, t.special(t.string), t.regexp, t.character], color: "var(--tok-string)" },
  { tag: [t.number, t.bool, t.null, t.atom], color: "var(--tok-number)" },
  { tag: [t.comment, t.lineComment, t.blockComment, t.docComment], color: "var(--tok-comment)", fontStyle: "italic" },
  { tag: [t.function(t.variableName), t.function(t.propertyName), t.macroName], color: "var(--tok-function)" },
  { tag: [t.definition(t.variableName), t.definition(t.function(t.variableName))], color: "var(--tok-def)" },
  { tag: [t.typeName, t.className, t.namespace, t.standard(t.typeName)], color: "var(--tok-type)" },
  { tag: [t.propertyName, t.attributeName], color: "var(--tok-property)" },
  { tag: [t.processingInstruction, t.meta, t.annotation], color: "var(--tok-meta)" },
  { tag: [t.operator, t.punctuation, t.bracket], color: "var(--tok-punct)" },
  { tag: t.invalid, color: "var(--tok-invalid)" },
  { tag: t.heading, fontWeight: "bold" },
  { tag: t.emphasis, fontStyle: "italic" },
  { tag: t.strong, fontWeight: "bold" },
]);

export interface EditorCallbacks {
  onChange(file: string): void;
  onCursor(line: number, col: number): void;
  onRun(): void;
}

export class CodeEditor {
  readonly view: EditorView;
  private states = new Map<string, EditorState>();
  private current = "";
  private mainFile = "";
  private lang: Language | undefined;
  private readonly mode = new Compartment();
  private readonly cb: EditorCallbacks;

  constructor(parent: HTMLElement, cb: EditorCallbacks) {
    this.cb = cb;
    this.view = new EditorView({ parent, state: EditorState.create({ doc: "" }) });
  }

  private extensions(file: string): Extension {
    return [
      Prec.highest(keymap.of([{ key: "Mod-Enter", run: () => (this.cb.onRun(), true), preventDefault: true }])),
      basicSetup,
      keymap.of([indentWithTab]),
      EditorState.tabSize.of(4),
      this.mode.of(CodeEditor.unit(file)),
      EditorView.contentAttributes.of({ "aria-label": `Code editor: ${file}` }),
      theme,
      syntaxHighlighting(highlight),
      EditorView.updateListener.of((u) => {
        if (u.docChanged) this.cb.onChange(this.current);
        if (u.selectionSet || u.docChanged || u.focusChanged) this.reportCursor();
      }),
    ];
  }

  private reportCursor() {
    const s = this.view.state;
    const head = s.selection.main.head;
    const line = s.doc.lineAt(head);
    this.cb.onCursor(line.number, head - line.from + 1);
  }

  private static unit(file: string) {
    return indentUnit.of(/\.go$/.test(file) || /makefile/i.test(file) ? "\t" : "    ");
  }

  /** Starts loading the highlighting mode of `file` and applies it when it arrives. */
  private loadModeInto(file: string) {
    const desc = describe(file, file === this.mainFile ? this.lang : undefined);
    const unit = CodeEditor.unit(file);
    void loadMode(desc).then((ext) => {
      const st = this.states.get(file);
      if (!st) return;
      const effects = this.mode.reconfigure([unit, ext]);
      if (file === this.current) this.view.dispatch({ effects });
      else this.states.set(file, st.update({ effects }).state);
    });
  }

  /** Replaces every file (language switch, snippet load). */
  load(files: { name: string; content: string }[], active: string, mainFile: string, lang: Language | undefined) {
    this.lang = lang;
    this.mainFile = mainFile;
    this.states.clear();
    for (const f of files) this.add(f.name, f.content);
    this.current = "";
    this.show(this.states.has(active) ? active : files[0]?.name ?? "");
  }

  private createState(name: string, content: string) {
    return EditorState.create({ doc: content, extensions: this.extensions(name) });
  }

  get activeFile() {
    return this.current;
  }

  /** Shows file `name` in the view. */
  show(name: string) {
    if (!this.states.has(name)) return;
    if (this.current && this.states.has(this.current)) this.states.set(this.current, this.view.state);
    this.current = name;
    this.view.setState(this.states.get(name)!);
    this.reportCursor();
  }

  content(name: string): string {
    if (name === this.current) return this.view.state.doc.toString();
    return this.states.get(name)?.doc.toString() ?? "";
  }

  add(name: string, content: string) {
    this.states.set(name, this.createState(name, content));
    this.loadModeInto(name);
  }

  remove(name: string) {
    this.states.delete(name);
    if (this.current === name) this.current = "";
  }

  rename(from: string, to: string) {
    const text = this.content(from);
    const wasCurrent = this.current === from;
    if (wasCurrent) this.current = "";
    this.states.delete(from);
    // A new state: the mode may change with the extension, and the aria-label names the file.
    this.add(to, text);
    if (wasCurrent) this.show(to);
  }

  setMain(name: string) {
    const old = this.mainFile;
    this.mainFile = name;
    for (const f of [old, name]) if (this.states.has(f)) this.loadModeInto(f);
  }

  /** Moves the cursor to `line:col` of `file`, scrolls it into view and focuses the editor. */
  goto(file: string, line: number, col: number) {
    if (!this.states.has(file)) return false;
    if (file !== this.current) this.show(file);
    const doc = this.view.state.doc;
    const l = doc.line(Math.min(Math.max(1, line), doc.lines));
    const pos = Math.min(l.from + Math.max(0, col - 1), l.to);
    this.view.dispatch({
      selection: EditorSelection.cursor(pos),
      effects: EditorView.scrollIntoView(pos, { y: "center" }),
    });
    this.view.focus();
    return true;
  }

  focus() {
    this.view.focus();
  }
}
