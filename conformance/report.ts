/**
 * The conformance run's results: one test's record (written by the pytest plugin), each file's
 * counts, and the report printed at the end.
 *
 * @module
 */

/** One test's outcome, as the pytest plugin records it. */
export interface TestRecord {
  test: string;
  outcome: "passed" | "failed" | "skipped";
  when: "setup" | "call";
  category: "client unavailable" | "model unavailable" | null;
  message: string;
}

/** A test that did not pass, and why in one line. */
export interface NotPassed {
  test: string;
  reason: string;
}

/** The counts of one test file. */
export interface FileResult {
  file: string;
  passed: number;
  /** Skipped by the suite itself (slow tests, marks). */
  skipped: number;
  failed: NotPassed[];
  /** Tests that need Python's `openai` client. */
  clientUnavailable: NotPassed[];
  /** Tests whose model cannot exist here. */
  modelUnavailable: NotPassed[];
  /** pytest could not run the file at all. */
  error?: string;
  seconds?: number;
}

/** The line of a failure's text that says what failed (pytest's last `E` line, or the last). */
export function failureLine(message: string): string {
  const lines = message.split("\n").map((l) => l.trimEnd()).filter((l) => l.trim() !== "");
  const errors = lines.filter((l) => /^E\s/.test(l));
  const pick = errors.length > 0 ? errors[0]! : lines[lines.length - 1] ?? "";
  const said = errors.find((l) => /^E\s+server said: /.test(l));
  const line = pick.replace(/^E\s+/, "") +
    (said && said !== pick ? `; ${said.replace(/^E\s+/, "")}` : "");
  return line.slice(0, 300);
}

/**
 * Sorts a file's records into counts: a test that failed because the stand-in had no model for
 * its preset (`unavailable`, noted by the stand-in under the test's name) is "model
 * unavailable", one that failed on the `openai` stand-in "client unavailable".
 */
export function summarize(
  file: string,
  records: readonly TestRecord[],
  unavailable: readonly { test: string; reason: string }[],
): FileResult {
  const result: FileResult = {
    file,
    passed: 0,
    skipped: 0,
    failed: [],
    clientUnavailable: [],
    modelUnavailable: [],
  };
  const missing = new Map(unavailable.map((u) => [u.test, u.reason]));
  for (const r of records) {
    if (r.outcome === "passed") result.passed++;
    else if (r.outcome === "skipped") result.skipped++;
    else if (r.category === "client unavailable") {
      result.clientUnavailable.push({ test: r.test, reason: "needs Python's openai client" });
    } else if (r.category === "model unavailable" || missing.has(r.test)) {
      result.modelUnavailable.push({
        test: r.test,
        reason: missing.get(r.test) ?? failureLine(r.message),
      });
    } else result.failed.push({ test: r.test, reason: failureLine(r.message) });
  }
  return result;
}

/** The report: a table of counts per file and totals, then every test that did not pass. */
export function formatReport(results: readonly FileResult[]): string {
  const rows = results.map((r) => [
    r.file,
    String(r.passed + r.failed.length + r.clientUnavailable.length + r.modelUnavailable.length),
    String(r.passed),
    String(r.failed.length),
    String(r.clientUnavailable.length),
    String(r.modelUnavailable.length),
    String(r.skipped),
  ]);
  const sum = (i: number) => String(rows.reduce((n, row) => n + Number(row[i]), 0));
  rows.push(["total", sum(1), sum(2), sum(3), sum(4), sum(5), sum(6)]);
  const head = [
    "file",
    "tests",
    "passed",
    "failed",
    "client unavailable",
    "model unavailable",
    "skipped",
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `| ${
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")
    } |`;
  const out = [
    line(head),
    `|${
      widths.map((w, i) => (i === 0 ? "-" : "") + "-".repeat(w + 1) + (i === 0 ? "" : ":")).join(
        "|",
      )
    }|`,
  ];
  for (const row of rows) out.push(line(row));
  for (const r of results) {
    if (r.error) out.push("", `${r.file}: ${r.error}`);
    const groups: [string, NotPassed[]][] = [
      ["failed", r.failed],
      ["model unavailable", r.modelUnavailable],
      ["client unavailable", r.clientUnavailable],
    ];
    for (const [name, list] of groups) {
      if (list.length === 0) continue;
      out.push("", `${r.file}, ${name}:`);
      for (const t of list) out.push(`  ${t.test.replace(/^unit\//, "")}: ${t.reason}`);
    }
  }
  return out.join("\n");
}
