/**
 * `--timeout`: a per-request time limit. Unlike Hono's `timeout()`, it also bounds a
 * streamed body: handlers get a {@linkcode Deadline} whose signal they pass to
 * generation, and a stream holds the timer until it ends. The signal also aborts when the
 * client disconnects or the server shuts down.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { RequestTimeoutError } from "../api/errors.ts";
import type { AppEnv, Deadline } from "../api/app_env.ts";

/** Options of {@linkcode deadline}. */
export interface DeadlineOptions {
  timeoutMs: number;
  /** Aborts every request (server shutdown). */
  shutdown?: AbortSignal;
}

/** Sets `deadline` for the handler. */
export function deadline(options: DeadlineOptions): MiddlewareHandler<AppEnv> {
  return async function deadline(c, next) {
    const timer = new AbortController();
    const id = setTimeout(
      () =>
        timer.abort(
          new RequestTimeoutError(
            `The request took longer than ${options.timeoutMs / 1000} seconds`,
          ),
        ),
      options.timeoutMs,
    );
    const signals = [c.req.raw.signal, timer.signal];
    if (options.shutdown) signals.push(options.shutdown);
    let held = false;
    const release = () => clearTimeout(id);
    const value: Deadline = {
      signal: AbortSignal.any(signals),
      timedOut: () => timer.signal.aborted,
      hold() {
        held = true;
        return release;
      },
    };
    c.set("deadline", value);
    try {
      await next();
    } finally {
      if (!held) release();
    }
  };
}
