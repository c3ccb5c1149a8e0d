// Test cases: inputs with expected outputs, run as `tests` of one job, judged AC/WA per case.
import type { CaseResult, Compare, JobResult, TestCase } from "./api";
import { capText, formatKiB, formatMs, statusInfo } from "./format";
import { badge, el } from "./output";

export interface TestsState {
  cases: TestCase[];
  compare: Compare;
}

export class TestsPanel {
  private state: TestsState;
  private results: (CaseResult | null)[] = [];
  private readonly list: HTMLElement;
  private readonly compare: HTMLSelectElement;
  private readonly summary: HTMLElement;
  private readonly onChange: (s: TestsState) => void;

  constructor(root: HTMLElement, initial: TestsState, onChange: (s: TestsState) => void) {
    this.state = initial.cases.length ? initial : { ...initial, cases: [{ stdin: "", expected_output: "" }] };
    this.onChange = onChange;
    this.list = root.querySelector("#test-list")!;
    this.compare = root.querySelector("#test-compare")!;
    this.summary = root.querySelector("#test-summary")!;
    this.compare.value = this.state.compare;
    this.compare.addEventListener("change", () => {
      this.state.compare = this.compare.value as Compare;
      this.changed();
    });
    root.querySelector("#test-add")!.addEventListener("click", () => {
      this.state.cases.push({ stdin: "", expected_output: "" });
      this.results = [];
      this.render();
      this.changed();
      this.list.querySelector<HTMLTextAreaElement>(`.case:last-child textarea`)?.focus();
    });
    this.render();
  }

  get tests(): TestCase[] {
    return this.state.cases.map((c) => ({ ...c }));
  }

  get compareMode(): Compare {
    return this.state.compare;
  }

  private changed() {
    this.onChange({ cases: this.tests, compare: this.state.compare });
  }

  clearResults() {
    this.results = [];
    this.summary.textContent = "";
    this.render();
  }

  showResults(job: JobResult) {
    this.results = this.state.cases.map((_, i) => job.cases[i] ?? null);
    const passed = this.results.filter((r) => r?.verdict === "AC").length;
    this.summary.textContent = job.status === "CE" ? "Compile error — no test ran" : `${passed} / ${this.state.cases.length} passed`;
    this.summary.dataset.allPassed = String(passed === this.state.cases.length);
    this.render();
  }

  private render() {
    const frag = document.createDocumentFragment();
    this.state.cases.forEach((c, i) => frag.append(this.caseCard(c, i)));
    this.list.replaceChildren(frag);
  }

  private caseCard(c: TestCase, i: number): HTMLElement {
    const n = i + 1;
    const input = el("textarea", { class: "mono", attrs: { id: `case-${n}-in`, rows: "3", spellcheck: "false" } });
    input.value = c.stdin;
    input.addEventListener("input", () => {
      c.stdin = input.value;
      this.changed();
    });
    const expected = el("textarea", { class: "mono", attrs: { id: `case-${n}-exp`, rows: "3", spellcheck: "false" } });
    expected.value = c.expected_output;
    expected.addEventListener("input", () => {
      c.expected_output = expected.value;
      this.changed();
    });
    const remove = el("button", { class: "btn btn-ghost btn-xs", text: "Remove", attrs: { type: "button", "aria-label": `Remove test ${n}` } });
    remove.disabled = this.state.cases.length === 1;
    remove.addEventListener("click", () => {
      this.state.cases.splice(i, 1);
      this.results = [];
      this.summary.textContent = "";
      this.render();
      this.changed();
      this.list.querySelector<HTMLElement>(`.case:nth-child(${Math.min(n, this.state.cases.length)}) textarea`)?.focus();
    });
    const head = el("div", { class: "case-head" }, el("h3", { text: `Test ${n}` }));
    const r = this.results[i];
    if (r) head.append(badge(r.verdict ?? r.result.status));
    head.append(el("span", { class: "spacer" }), remove);
    const card = el("div", { class: "case", attrs: { "data-case": String(n) } }, head,
      el("div", { class: "case-io" },
        el("div", { class: "field" }, el("label", { text: "Input", attrs: { for: input.id } }), input),
        el("div", { class: "field" }, el("label", { text: "Expected output", attrs: { for: expected.id } }), expected)));
    if (r) card.append(this.caseResult(r));
    if (r) card.dataset.verdict = r.verdict ?? r.result.status;
    return card;
  }

  private caseResult(r: CaseResult): HTMLElement {
    const res = r.result;
    const box = el("div", { class: "case-result" });
    const line = el("p", { class: "case-line" });
    line.append(
      el("span", { text: r.verdict ? statusInfo(r.verdict).label : `${statusInfo(res.status).label}: ${res.message}` }),
      el("span", { class: "muted", text: ` · ${formatMs(res.cpu_time_ms)} CPU · ${formatKiB(res.memory_kib)}` }),
    );
    box.append(line);
    if (r.difference) box.append(el("p", { class: "case-diff", text: `First difference: ${r.difference}`, attrs: { "data-diff": "" } }));
    if (r.verdict !== "AC") {
      const out = el("details", {}, el("summary", { text: "Program output" }),
        el("pre", { class: "stream-text", text: capText(res.stdout, 100_000).shown || "(empty)" }));
      if (r.verdict === "WA") out.open = true;
      box.append(out);
      if (res.stderr) {
        box.append(el("details", {}, el("summary", { text: "stderr" }),
          el("pre", { class: "stream-text is-error", text: capText(res.stderr, 100_000).shown })));
      }
    }
    return box;
  }
}
