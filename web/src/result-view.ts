// A finished job on the page: the compiler block, stdout and stderr in the output panel (or the
// verdicts in the tests panel), and the status bar.
import type { JobResult, Result } from "./api";
import { type LocHandler, renderStatus, streamBlock } from "./output";
import { $ } from "./page";
import type { TestsPanel } from "./tests-panel";

export interface ResultView {
  statusBar: HTMLElement;
  outputBody: HTMLElement;
  tests: TestsPanel;
  /** The page's file names, so that compiler locations become links. */
  files: readonly string[];
  onLoc: LocHandler;
}

export function showJob(res: JobResult, testsMode: boolean, v: ResultView) {
  const cases = Array.isArray(res.cases) ? res.cases : [];
  const ce = res.status === "CE";
  const files = [...v.files];
  const blocks: HTMLElement[] = [];
  if (res.compile && (ce || res.compile.stdout || res.compile.stderr)) {
    const cout = res.compile.stdout ?? "";
    const text = [cout, res.compile.stderr ?? ""].filter(Boolean).join(cout.endsWith("\n") ? "" : "\n");
    blocks.push(streamBlock({
      id: "compile", title: ce ? "Compiler errors" : "Compiler output", text,
      files, onLoc: v.onLoc, tone: ce ? "error" : "normal", emptyText: res.compile.message,
      serverTruncated: res.compile.stdout_truncated || res.compile.stderr_truncated,
    }));
  }

  if (testsMode) {
    v.tests.showResults(res);
    if (ce && blocks[0]) $("#test-list").prepend(blocks[0]);
    const worst = cases.find((c) => c.verdict !== "AC") ?? cases[0];
    const passed = cases.filter((c) => c.verdict === "AC").length;
    renderStatus(v.statusBar, {
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
      files, onLoc: v.onLoc, tone: "error", emptyText: "(none)",
    }));
  }
  v.outputBody.replaceChildren(...blocks);
  v.outputBody.scrollTop = 0;
  renderStatus(v.statusBar, { status: res.status, result: ce ? res.compile : r, message: ce ? res.compile?.message : r?.message });
}
