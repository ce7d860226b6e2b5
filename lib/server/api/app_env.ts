/**
 * The per-request values middleware hands to handlers (Hono `Variables`).
 *
 * @module
 */
import type { ErrorShape } from "./errors.ts";

/** A request's time limit, joined with client disconnect and server shutdown. */
export interface Deadline {
  /** Aborts on timeout, client disconnect or shutdown. */
  readonly signal: AbortSignal;
  /** True when the abort came from the time limit. */
  timedOut(): boolean;
  /**
   * Keeps the timer running after the handler returns (a streamed body); call the
   * returned function when the stream ends.
   */
  hold(): () => void;
}

/** The token counts of a request's generation, for the request log. */
export interface GenerationOutcome {
  promptTokens: number;
  completionTokens: number;
}

/** The Hono environment of the app. */
export type AppEnv = {
  Variables: {
    requestId: string;
    deadline: Deadline;
    /** Set by the respond path: settles when the request's generation ends. */
    generation?: Promise<GenerationOutcome>;
    /** The error body shape of the API the request's path belongs to. */
    errorShape: ErrorShape;
  };
};
