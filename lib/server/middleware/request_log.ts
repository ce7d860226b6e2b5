/**
 * One log line per request, once its response has ended (a stream when its last byte is sent
 * or the client goes away): method, path, status, milliseconds, and the prompt and generated
 * tokens of a generation (which the respond path hands over as the `generation` variable).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv, GenerationOutcome } from "../api/app_env.ts";

/** What one log line says. */
export interface RequestLogEntry {
  method: string;
  path: string;
  status: number;
  ms: number;
  /** The generation's token counts, when the request generated. */
  tokens: GenerationOutcome | null;
  /** The client went away before the response ended. */
  cancelled: boolean;
  requestId: string;
}

/** The log line of `entry`: `llamafile: POST /v1/chat/completions 200 35 ms, 12 + 40 tokens`. */
export function formatRequestLog(entry: RequestLogEntry): string {
  let line = `llamafile: ${entry.method} ${entry.path} ${entry.status} ${Math.round(entry.ms)} ms`;
  if (entry.tokens !== null) {
    line +=
      `, prompt ${entry.tokens.promptTokens} + generated ${entry.tokens.completionTokens} tokens`;
  }
  if (entry.cancelled) line += ", client went away";
  return `${line} (request ${entry.requestId})`;
}

/** Calls `log` with one line per request, after its response has ended. */
export function requestLog(log: (line: string) => void): MiddlewareHandler<AppEnv> {
  return async function requestLog(c, next) {
    const start = performance.now();
    const method = c.req.method;
    const path = c.req.path;
    let written = false;
    const write = async (cancelled: boolean) => {
      if (written) return;
      written = true;
      const outcome = await c.get("generation")?.catch(() => null) ?? null;
      log(formatRequestLog({
        method,
        path,
        status: c.res.status,
        ms: performance.now() - start,
        tokens: outcome,
        cancelled,
        requestId: c.get("requestId") ?? "-",
      }));
    };
    await next();
    // Only a stream's body is touched: reading `.body` of a response made from a string turns
    // it into a stream, which would lose its Content-Length.
    const body = c.res.headers.get("content-type")?.startsWith("text/event-stream")
      ? c.res.body
      : null;
    if (body === null) {
      await write(false);
      return;
    }
    const reader = body.getReader();
    c.res = new Response(
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          const step = await reader.read();
          if (step.done) {
            controller.close();
            void write(false);
          } else {
            controller.enqueue(step.value);
          }
        },
        cancel(reason) {
          void write(true);
          return reader.cancel(reason);
        },
      }, { highWaterMark: 0 }),
      c.res,
    );
  };
}
