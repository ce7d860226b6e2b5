/**
 * The one respond path of the generation endpoints ({@linkcode respond}): check the prompt
 * fits, submit it to the scheduler, wait for the first event (so errors such as a bad grammar
 * still answer with a status code, as llama.cpp does for streams), then collect the answer or
 * stream it as SSE, in the shape the endpoint's {@linkcode AnswerFormat} gives. Also the
 * fields every answer shares: usage, llama.cpp timings, finish reasons, ids.
 *
 * @module
 */
import {
  emptySlotResult,
  type SlotRequest,
  type SlotResult,
  type TokenEvent,
  type TokenLogprob,
} from "../../engine/slots.ts";
import type { Context } from "hono";
import { MediaPrompt } from "../../engine/media_prompt.ts";
import type { AppEnv, Deadline } from "./app_env.ts";
import { utf8Length } from "./prompt.ts";
import { sseResponse } from "./sse.ts";
import type { Engine } from "./server_state.ts";
import { ApiError, streamFailure } from "./errors.ts";
import { checkPromptEnd } from "../../engine/generate.ts";
import { LLAMA_CPP_RELEASE, VERSION } from "../../util/version.ts";
import type { GenerationParams } from "./generation_params.ts";

/** A submitted request whose first event has arrived. */
export interface Started {
  /** The first event, or `done` when generation ended before any. */
  first: IteratorResult<TokenEvent>;
  /** The events after the first. */
  rest: AsyncIterator<TokenEvent>;
  result: Promise<SlotResult>;
  /** Aborts this generation (client went away). */
  abort(): void;
}

/** Throws a 400 `exceed_context_size_error` when `count` prompt tokens leave no room in a slot. */
export function checkPromptFits(engine: Engine, count: number): void {
  const slot = engine.scheduler.slotContext;
  if (count >= slot) {
    throw new ApiError(
      "exceed_context_size_error",
      `The prompt is ${count} tokens and a slot's context holds ${slot}: shorten it or start the server with a larger --ctx-size`,
      { param: "messages", extra: { n_prompt_tokens: count, n_ctx: slot } },
    );
  }
  if (count === 0) {
    throw new ApiError("invalid_request_error", "The prompt is empty", { param: "prompt" });
  }
}

/**
 * Throws the 400 `exceed_context_size_error` when `texts` cannot fit in a slot whatever their
 * tokens: a text of `n` bytes is at least `n / maxTokenBytes` tokens. Checked before
 * tokenizing, so a 9 MB prompt is refused at once instead of holding the event loop.
 */
export function checkTextFits(engine: Engine, texts: readonly string[], param: string): void {
  const slot = engine.scheduler.slotContext;
  let bytes = 0;
  for (const text of texts) bytes += utf8Length(text);
  const least = Math.ceil(bytes / engine.model.maxTokenBytes);
  if (least >= slot) {
    throw new ApiError(
      "exceed_context_size_error",
      `The prompt is at least ${least} tokens (${bytes} bytes) and a slot's context holds ${slot}: shorten it or start the server with a larger --ctx-size`,
      { param, extra: { n_prompt_tokens: least, n_ctx: slot } },
    );
  }
}

/** The scheduler request for `input` (tokens, or a prompt with images) with `params`. */
function slotRequest(
  input: ArrayLike<number> | MediaPrompt,
  params: GenerationParams,
): Omit<SlotRequest, "signal"> {
  const media = input instanceof MediaPrompt
    ? { tokens: input.tokens, media: input.spans, mrope: input.mrope }
    : { tokens: input };
  return {
    ...media,
    sampling: params.sampling,
    maxTokens: params.maxTokens,
    stop: params.stop,
    topLogprobs: params.topLogprobs,
    logprobs: params.logprobs,
    cachePrompt: params.cachePrompt,
    slot: params.slot,
  };
}

/** Submits `request` and waits for its first event. */
async function startGeneration(
  engine: Engine,
  request: Omit<SlotRequest, "signal">,
  signal: AbortSignal,
): Promise<Started> {
  const local = new AbortController();
  const stream = engine.scheduler.submit({
    ...request,
    signal: AbortSignal.any([signal, local.signal]),
  });
  const rest = stream[Symbol.asyncIterator]();
  const first = await rest.next();
  return { first, rest, result: stream.result, abort: () => local.abort() };
}

/** Everything a non-streamed answer needs. */
export interface Collected {
  text: string;
  tokens: number[];
  probs: { logprob: TokenLogprob; top: TokenLogprob[] }[];
  result: SlotResult;
}

/** Reads a started generation to its end. */
async function collect(started: Started): Promise<Collected> {
  const out: Collected = {
    text: "",
    tokens: [],
    probs: [],
    result: undefined as unknown as SlotResult,
  };
  const take = (event: TokenEvent) => {
    out.text += event.text;
    if (event.token < 0) return;
    out.tokens.push(event.token);
    if (event.logprob) out.probs.push({ logprob: event.logprob, top: event.top ?? [] });
  };
  if (!started.first.done) {
    take(started.first.value);
    while (true) {
      const step = await started.rest.next();
      if (step.done) break;
      take(step.value);
    }
  }
  out.result = await started.result;
  return out;
}

/** The events of a started generation, first included. */
async function* events(started: Started): AsyncGenerator<TokenEvent> {
  if (started.first.done) return;
  yield started.first.value;
  while (true) {
    const step = await started.rest.next();
    if (step.done) return;
    yield step.value;
  }
}

/** Throws 408 when a generation was cut short by the request's time limit. */
function checkTimedOut(result: SlotResult, deadline: Pick<Deadline, "timedOut">): void {
  if (result.finishReason === "abort" && deadline.timedOut()) {
    throw new ApiError("timeout_error", "The request took longer than the server's --timeout");
  }
}

/** How an endpoint shapes its answer, whole or streamed; made per request (it may keep state). */
export interface AnswerFormat {
  /** The JSON body of a non-streamed answer. */
  whole(out: Collected): unknown;
  /** Events sent before the first token (chat's role delta). */
  opening?(): Iterable<unknown>;
  /** Events for one generated token event (none to skip or hold it). */
  chunks(event: TokenEvent): Iterable<unknown>;
  /** Events once generation has ended. */
  closing(result: SlotResult): Iterable<unknown>;
  /** End the stream with `data: [DONE]` (OpenAI endpoints; llama.cpp's `/completion` does not). */
  done: boolean;
  /** The event for an error in the middle of a stream (default: the OpenAI error body). */
  errorEvent?(error: ApiError): unknown;
}

/**
 * Runs `input` (prompt tokens, or a prompt with images, which is closed once the generation
 * has ended) with `params` on the engine's scheduler and answers in `format`: a JSON body, or
 * SSE when `params.stream`. A request that ran past `--timeout` answers 408.
 */
export async function respond(
  c: Context<AppEnv>,
  engine: Engine,
  input: ArrayLike<number> | MediaPrompt,
  params: GenerationParams,
  format: AnswerFormat,
): Promise<Response> {
  const tokens = input instanceof MediaPrompt ? input.tokens : input;
  const close = () => {
    if (input instanceof MediaPrompt) input.close();
  };
  let started: Started;
  try {
    checkPromptFits(engine, tokens.length);
    if (input instanceof MediaPrompt) {
      try {
        checkPromptEnd(input.tokens, input.spans);
      } catch (error) {
        throw new ApiError("invalid_request_error", (error as Error).message, {
          param: "messages",
        });
      }
    }
    started = params.maxTokens === 0
      ? startedEmpty(tokens.length)
      : await startGeneration(engine, slotRequest(input, params), c.get("deadline").signal);
  } catch (error) {
    close();
    throw error;
  }
  // The image chunks are freed once the scheduler is done with them.
  started.result.then(close, close);
  const deadline = c.get("deadline");
  c.set("generation", started.result);
  if (!params.stream) {
    const out = await collect(started);
    checkTimedOut(out.result, deadline);
    return c.json(format.whole(out));
  }
  const release = deadline.hold();
  const requestId = c.get("requestId");
  async function* stream(): AsyncGenerator<unknown> {
    yield* format.opening?.() ?? [];
    for await (const event of events(started)) yield* format.chunks(event);
    const result = await started.result;
    checkTimedOut(result, deadline);
    yield* format.closing(result);
  }
  return sseResponse(stream(), {
    done: format.done,
    onCancel: started.abort,
    onClose: release,
    errorEvent(error) {
      const failure = streamFailure(error, requestId);
      return format.errorEvent?.(failure) ?? failure.body();
    },
  });
}

/** OpenAI's finish reason. */
export function finishReason(result: SlotResult): "stop" | "length" {
  return result.finishReason === "eog" || result.finishReason === "stop" ? "stop" : "length";
}

/** llama.cpp's `stop_type`. */
export function stopType(result: SlotResult): "eos" | "word" | "limit" | "none" {
  switch (result.finishReason) {
    case "eog":
      return "eos";
    case "stop":
      return "word";
    case "abort":
      return "none";
    default:
      return "limit";
  }
}

/** OpenAI `usage`. */
export function usage(result: SlotResult): Record<string, unknown> {
  return {
    prompt_tokens: result.promptTokens,
    completion_tokens: result.completionTokens,
    total_tokens: result.promptTokens + result.completionTokens,
    prompt_tokens_details: { cached_tokens: result.cachedTokens },
  };
}

/** llama.cpp `timings`. */
export function timings(result: SlotResult): Record<string, number> {
  const promptN = result.promptTokens - result.cachedTokens;
  const predictedN = result.completionTokens;
  const perToken = (ms: number, n: number) => (n > 0 ? ms / n : 0);
  const perSecond = (ms: number, n: number) => (ms > 0 ? (1000 * n) / ms : 0);
  return {
    cache_n: result.cachedTokens,
    prompt_n: promptN,
    prompt_ms: result.promptMs,
    prompt_per_token_ms: perToken(result.promptMs, promptN),
    prompt_per_second: perSecond(result.promptMs, promptN),
    predicted_n: predictedN,
    predicted_ms: result.generateMs,
    predicted_per_token_ms: perToken(result.generateMs, predictedN),
    predicted_per_second: perSecond(result.generateMs, predictedN),
  };
}

/** llama.cpp-style build fingerprint. */
export const SYSTEM_FINGERPRINT = `llamafile-${VERSION}-llama.cpp-${LLAMA_CPP_RELEASE}`;

const ID_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A random id with `prefix`, like llama.cpp's `chatcmpl-<32 chars>`. */
export function completionId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return prefix + Array.from(bytes, (b) => ID_CHARS[b % ID_CHARS.length]).join("");
}

/** Unix time in seconds. */
export function unixTime(): number {
  return Math.floor(Date.now() / 1000);
}

/** OpenAI chat-style log-probabilities of one token. */
export function chatLogprob(
  p: { logprob: TokenLogprob; top: TokenLogprob[] },
): Record<string, unknown> {
  return {
    token: p.logprob.text,
    logprob: p.logprob.logprob,
    bytes: p.logprob.bytes,
    top_logprobs: p.top.map((t) => ({ token: t.text, logprob: t.logprob, bytes: t.bytes })),
  };
}

/** A request that generates nothing (`max_tokens: 0`), shaped like a started one. */
function startedEmpty(promptTokens: number): Started {
  return {
    first: { done: true, value: undefined },
    rest: { next: () => Promise.resolve({ done: true, value: undefined }) },
    // max_tokens 0: nothing is generated and the prompt is not even run.
    result: Promise.resolve(emptySlotResult(-1, promptTokens)),
    abort: () => {},
  };
}

/** Validation's view of the model's vocabulary. */
export function vocabInfo(
  engine: Engine,
): { vocabSize: number; tokenize(text: string): Int32Array } {
  const model = engine.model;
  return {
    vocabSize: model.vocabSize,
    tokenize: (text) => model.tokenize(text, { addSpecial: false, parseSpecial: false }),
  };
}

/** The `model` to report: the request's when it names one (llama.cpp), else the server's. */
export function reportedModel(model: string | undefined, fallback: string): string {
  return model !== undefined && model !== "" ? model : fallback;
}
