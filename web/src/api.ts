// Client for the public runbox HTTP API (docs/api.md). The page uses nothing else.

export interface Language {
  id: string;
  name: string;
  version: string;
  aliases: string[];
  extensions: string[];
  main_file: string;
  template: string;
  compiled: boolean;
}

export interface SourceFile {
  name: string;
  content: string;
  encoding?: "utf8" | "base64";
}

export interface Result {
  status: string;
  exit_code: number | null;
  signal: number | null;
  cpu_time_ms: number;
  wall_time_ms: number;
  memory_kib: number;
  stdout: string;
  stderr: string;
  stdout_truncated: boolean;
  stderr_truncated: boolean;
  message: string;
}

export interface TestCase {
  stdin: string;
  expected_output: string;
}

export type Compare = "exact" | "trailing_whitespace" | "tokens" | "float";

export interface JobRequest {
  language: string;
  version?: string;
  files: SourceFile[];
  main_file?: string;
  stdin?: string;
  tests?: TestCase[];
  compare?: Compare;
  args?: string[];
}

export interface CaseResult {
  result: Result;
  verdict: "AC" | "WA" | null;
  difference?: string | null;
}

export interface JobResult {
  id: string;
  state: "queued" | "running" | "done";
  language: string;
  version: string;
  compile: Result | null;
  compile_cached?: boolean;
  status: string;
  cases: CaseResult[];
}

export interface Snippet {
  language: string;
  files: SourceFile[];
  stdin: string;
  args: string[];
}

/** An API failure with a message written for the person at the page. */
export class ApiError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when the server could not be reached at all. */
    readonly status: number,
    readonly code = "",
    readonly field = "",
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Absolute URL of an API path, relative to the page so that a sub-path deployment works. */
export function apiUrl(path: string): string {
  return new URL(path.replace(/^\//, ""), document.baseURI).toString();
}

export function wsUrl(path: string): string {
  const u = new URL(apiUrl(path));
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.toString();
}

function explain(status: number, serverMessage: string, field: string): string {
  const detail = serverMessage ? `: ${serverMessage}` : "";
  switch (status) {
    case 400:
      return `The server rejected the request${field ? ` (${field})` : ""}${detail}`;
    case 404:
      return `Not found${detail}`;
    case 413:
      return `Too large: the code, files or input exceed the server's size limit${detail}`;
    case 422:
      return `A limit is above the server's maximum${field ? ` (${field})` : ""}${detail}`;
    case 429:
      return `The server is busy (too many requests). Wait a moment and try again${detail}`;
    case 503:
      return `The server's queue is full. Try again in a few seconds${detail}`;
    default:
      if (status >= 500) return `The server failed (HTTP ${status})${detail}`;
      return `Request failed (HTTP ${status})${detail}`;
  }
}

async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<T> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new DOMException("timeout", "TimeoutError")), opts.timeoutMs ?? 30000);
  opts.signal?.addEventListener("abort", () => ctl.abort(opts.signal?.reason));
  let res: Response;
  try {
    res = await fetch(apiUrl(path), {
      method,
      headers: body === undefined ? { Accept: "application/json" } : {
        Accept: "application/json",
        "Content-Type": "application/json",
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctl.signal,
    });
  } catch (e) {
    if (ctl.signal.aborted && ctl.signal.reason instanceof DOMException && ctl.signal.reason.name === "TimeoutError") {
      throw new ApiError("The server did not answer in time. Try again.", 0, "timeout");
    }
    if (opts.signal?.aborted) throw new ApiError("Cancelled.", 0, "cancelled");
    throw new ApiError("Cannot reach the runbox server. Check your connection and try again.", 0, "network");
  } finally {
    clearTimeout(timer);
  }
  let text = "";
  try {
    text = await res.text();
  } catch {
    throw new ApiError("The connection broke while reading the server's answer.", 0, "network");
  }
  let data: unknown = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    /* handled below */
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
    throw new ApiError(explain(res.status, err?.message ?? "", err?.field ?? ""), res.status, err?.code ?? "", err?.field ?? "");
  }
  if (data === undefined) throw new ApiError("The server sent an answer that is not JSON.", res.status, "bad_response");
  return data as T;
}

export function getLanguages(): Promise<Language[]> {
  return request<Language[]>("GET", "api/v1/languages", undefined, { timeoutMs: 15000 });
}

/** Run and wait. Generous timeout: compile + run + queueing can take a while. */
export function runJob(job: JobRequest, signal?: AbortSignal): Promise<JobResult> {
  return request<JobResult>("POST", "api/v1/runs", job, { timeoutMs: 180000, signal });
}

export function createSnippet(s: Snippet): Promise<{ id: string }> {
  return request<{ id: string }>("POST", "api/v1/snippets", s);
}

export function getSnippet(id: string): Promise<Snippet> {
  return request<Snippet>("GET", `api/v1/snippets/${encodeURIComponent(id)}`);
}
