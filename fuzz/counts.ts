/**
 * What a fuzz run is asked and what it counts.
 *
 * @module
 */
import type { Outcome } from "./outcome.ts";

/** What `deno task fuzz` was asked. */
export interface FuzzOptions {
  cases: number;
  seed: number;
  /** Run only this case index (to reproduce one). */
  only?: number;
  /**
   * The first case index (default 0): `--first 3000 --cases 1000` runs cases 3000 to 3999, so a
   * long run split in parts covers the same cases as one run.
   */
  first?: number;
  jobs: number;
  timeoutMs: number;
  out: string;
  /** Print one line per failing case as it is found. */
  verbose: boolean;
}

/** Counts of one target's run. */
export interface FuzzCounts {
  cases: number;
  outcomes: Record<Outcome, number>;
  /** HTTP only: 5xx answers, and cases after which `/health` failed. */
  serverErrors: number;
  unhealthy: number;
  ms: number;
}

/** Zero counts. */
export function newCounts(): FuzzCounts {
  return {
    cases: 0,
    outcomes: { ok: 0, clean: 0, stack: 0, crash: 0, hang: 0 },
    serverErrors: 0,
    unhealthy: 0,
    ms: 0,
  };
}

/** The one summary line of a target. */
export function summaryLine(target: string, counts: FuzzCounts): string {
  const o = counts.outcomes;
  const base = `fuzz ${target}: ${counts.cases} cases, ${o.ok} ok, ${o.clean} clean errors, ` +
    `${o.stack} stack traces, ${o.crash} crashes, ${o.hang} hangs`;
  const http = target === "http"
    ? `, ${counts.serverErrors} server errors, ${counts.unhealthy} unhealthy`
    : "";
  return `${base}${http} (${(counts.ms / 1000).toFixed(0)} s)`;
}

/** The case indexes a run covers. */
export function caseIndexes(options: FuzzOptions): number[] {
  if (options.only !== undefined) return [options.only];
  const first = options.first ?? 0;
  return Array.from({ length: options.cases }, (_, i) => first + i);
}
