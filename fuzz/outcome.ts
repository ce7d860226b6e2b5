/**
 * How a fuzz case ended, from a subprocess's exit and stderr.
 *
 * @module
 */

/** The outcome classes the fuzzer counts. */
export type Outcome = "ok" | "clean" | "stack" | "crash" | "hang";

/** What a finished (or killed) case left. */
export interface CaseRun {
  code: number;
  signal: string | null;
  stderr: string;
  timedOut: boolean;
}

/** Lines that show a stack trace or an uncaught error instead of a message. */
const STACK = /^\s+at |Uncaught|panicked at|^error: |thread '.*' panicked|Stack backtrace/m;

/**
 * Classifies a CLI run: exit 0 is `ok`; exit 1 or 2 with stderr of `llamafile:` lines only, of
 * which exactly one is an error (warnings aside), is `clean`; a stack trace or uncaught error
 * is `stack`; a signal, another exit code, or an abort inside libllama (contained and reported
 * in one line, but a crash of native code all the same) is `crash`; the time limit is `hang`.
 */
export function classifyCli(run: CaseRun): Outcome {
  if (run.timedOut) return "hang";
  if (STACK.test(run.stderr)) return "stack";
  if (run.signal !== null || (run.code !== 0 && run.code !== 1 && run.code !== 2)) return "crash";
  if (/libllama aborted/.test(run.stderr)) return "crash";
  if (run.code === 0) return "ok";
  // A usage error's hint line ("Try 'llamafile --help' ...") belongs to its one message.
  const lines = run.stderr.split("\n").filter((line) =>
    line.trim() !== "" && !/^Try 'llamafile( \w+)? --help' for more information\.$/.test(line)
  );
  const errors = lines.filter((line) => !/^llamafile: warning: /.test(line));
  if (errors.length === 1 && errors[0]!.startsWith("llamafile: ")) {
    return lines.every((line) => line.startsWith("llamafile: ")) ? "clean" : "stack";
  }
  return "stack";
}
