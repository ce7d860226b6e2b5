/**
 * Text generation on one sequence of a context, as an async generator of
 * UTF-8-safe text pieces.
 *
 * @module
 */
import { TokenBatch } from "../../ffi/batch.ts";
import type { LlamaContext } from "./context.ts";
import { ContextFullError } from "./errors.ts";
import { MediaPrompt, type MediaSpan } from "./media_prompt.ts";
import type { SamplingOptions } from "./sampler.ts";
import { TokenLoop } from "./token_loop.ts";
import { eventLoopTurn } from "../util/event_loop_turn.ts";

/** Options for {@linkcode generate}. */
export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most; -1 = until end of generation or a full context (default -1). */
  maxTokens?: number;
  /** Stop before any of these strings; they are not part of the output. */
  stop?: readonly string[];
  /** Stops generation; the result's `finishReason` is then `"abort"`. */
  signal?: AbortSignal;
  /** Sequence id in the context (default 0). */
  sequence?: number;
  /** Add BOS etc. when tokenizing a string prompt (default true). */
  addSpecial?: boolean;
  /** Parse special-token text in a string prompt (default false). */
  parseSpecial?: boolean;
  /**
   * Decode one-token steps on the calling thread, one every 100 ms off it so that the event
   * loop turns (signals, timers): a few percent faster than every step's hop to another thread
   * and back, for an event loop that waits up to 100 ms. The CLI's choice, not the server's.
   * The prompt's batches are decoded off the event loop whatever this says (unless the model
   * is small).
   */
  syncDecode?: boolean;
  /**
   * Leading prompt tokens already in the sequence's KV cache (restored from a prompt cache):
   * they are kept and not decoded again. At most the prompt length minus one.
   */
  cachedTokens?: number;
  /** Called once the prompt is in the KV cache, before the first token is sampled. */
  onPromptDone?: (tokens: ArrayLike<number>) => void | Promise<void>;
}

/** Why generation ended. */
export type FinishReason = "eog" | "stop" | "length" | "context" | "abort";

/** The outcome of a finished {@linkcode generate}. */
export interface GenerateResult {
  finishReason: FinishReason;
  /** The stop string that ended it, when `finishReason` is `"stop"`. */
  stopString: string | null;
  promptTokens: number;
  /** Prompt tokens reused from a restored KV cache instead of decoded. */
  cachedTokens: number;
  completionTokens: number;
  /** Generated tokens, in order. */
  tokens: number[];
  /** Milliseconds spent on the prompt. */
  promptMs: number;
  /** Milliseconds spent generating after the prompt. */
  generateMs: number;
}

/**
 * Checks that generation can follow `prompt`'s last position: an image chunk gives no logits
 * to sample from, so a prompt may not end with one.
 *
 * @throws {RangeError} When the prompt ends with an image chunk.
 */
export function checkPromptEnd(tokens: ArrayLike<number>, spans: readonly MediaSpan[]): void {
  const last = spans[spans.length - 1];
  if (last !== undefined && last.start + last.chunk.tokens >= tokens.length) {
    throw new RangeError(
      "Cannot generate after an image that ends the prompt: put text after the media marker",
    );
  }
}

/**
 * Generates text after `prompt` (text, tokens, or a prompt with images) on a fresh sequence.
 *
 * @example Greedy completion
 * ```ts
 * import { loadModel } from "./model.ts";
 * import { createContext } from "./context.ts";
 * import { generate } from "./generate.ts";
 * const model = await loadModel("../shared/models/stories260K.gguf");
 * const context = await createContext(model, { threads: 1, contextSize: 256 });
 * let text = "";
 * for await (const piece of generate(context, "Once upon a time", { temperature: 0, maxTokens: 8 })) {
 *   text += piece;
 * }
 * console.log(text);
 * await context.close();
 * model.close();
 * ```
 */
export async function* generate(
  context: LlamaContext,
  prompt: string | ArrayLike<number> | MediaPrompt,
  options: GenerateOptions = {},
): AsyncGenerator<string, GenerateResult, undefined> {
  const model = context.model;
  const seq = options.sequence ?? 0;
  const maxTokens = options.maxTokens ?? -1;
  const spans = prompt instanceof MediaPrompt ? prompt.spans : [];
  let tokens: ArrayLike<number> = typeof prompt === "string"
    ? model.tokenize(prompt, {
      addSpecial: options.addSpecial ?? true,
      parseSpecial: options.parseSpecial ?? false,
    })
    : prompt instanceof MediaPrompt
    ? prompt.tokens
    : prompt;
  checkPromptEnd(tokens, spans);
  if (tokens.length === 0) {
    if (model.bos < 0) {
      throw new RangeError("Cannot generate from an empty prompt: the model has no BOS token");
    }
    tokens = [model.bos];
  }
  if (tokens.length >= context.size) {
    throw new ContextFullError(
      `Cannot fit the prompt: it is ${tokens.length} tokens and the context holds ${context.size}`,
    );
  }
  using loop = new TokenLoop(context, {
    sampling: options,
    maxTokens,
    stop: options.stop ?? [],
    positions: context.size,
  });
  loop.acceptPrompt(tokens);
  const batch = new TokenBatch(Math.max(1, Math.min(context.batchSize, tokens.length)));
  const result: GenerateResult = {
    finishReason: "length",
    stopString: null,
    promptTokens: tokens.length,
    cachedTokens: 0,
    completionTokens: 0,
    tokens: loop.tokens,
    promptMs: 0,
    generateMs: 0,
  };
  const signal = options.signal;
  // A small model's batches are decoded on this thread (see SMALL_MODEL_BYTES in model.ts),
  // with a turn of the event loop every 16 ms so that signals and timers still run.
  const here = context.model.small;
  let turned = performance.now();
  const decodeHere = async (batch: TokenBatch) => {
    context.decodeSync(batch);
    if (performance.now() - turned > 16) {
      await eventLoopTurn();
      turned = performance.now();
    }
  };
  // syncDecode: one-token steps on this thread, and one every 100 ms off it, as the turn of
  // the event loop (a timer each token costs more than the hop saves).
  const decodeMostlyHere = async (batch: TokenBatch) => {
    if (performance.now() - turned > 100) {
      await context.decode(batch);
      turned = performance.now();
    } else context.decodeSync(batch);
  };

  const started = performance.now();
  // A restored cache is kept up to the first image at most (its positions are the tokens').
  const cached = Math.max(
    0,
    Math.min(options.cachedTokens ?? 0, tokens.length - 1, spans[0]?.start ?? Infinity),
  );
  context.forget(seq, cached, -1);
  let pos = cached;
  result.cachedTokens = cached;
  let next = 0; // the next image chunk
  for (let i = cached; i < tokens.length;) {
    signal?.throwIfAborted();
    const span = spans[next];
    if (span !== undefined && span.start === i) {
      pos = await span.chunk.evaluate(context, seq, pos);
      i += span.chunk.tokens;
      next++;
      continue;
    }
    batch.clear();
    const end = Math.min(span?.start ?? tokens.length, i + batch.capacity);
    for (let j = i; j < end; j++) batch.add(tokens[j]!, pos++, seq, j === tokens.length - 1);
    if (here) await decodeHere(batch);
    else await context.decode(batch);
    i = end;
  }
  let row = batch.length - 1;
  await options.onPromptDone?.(tokens);
  const afterPrompt = performance.now();
  result.promptMs = afterPrompt - started;

  try {
    while (true) {
      if (signal?.aborted) {
        result.finishReason = "abort";
        break;
      }
      const step = loop.next(row, pos);
      result.completionTokens = loop.tokens.length;
      if (step.text) yield step.text;
      if (step.finish !== null) {
        result.finishReason = step.finish;
        result.stopString = loop.stopString;
        break;
      }
      batch.clear();
      row = batch.add(step.token, pos++, seq, true);
      if (here) await decodeHere(batch);
      else if (options.syncDecode) await decodeMostlyHere(batch);
      else await context.decode(batch);
    }
    if (result.finishReason !== "stop") {
      const tail = loop.flush();
      if (tail) yield tail;
    }
  } finally {
    result.generateMs = performance.now() - afterPrompt;
  }
  return result;
}
