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
  type SlotTimings,
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
import { type GenerationParams, loraScales } from "./generation_params.ts";

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
      `The request exceeds the available context size: the prompt is ${count} tokens and a slot's context holds ${slot} (shorten it or start the server with a larger --ctx-size)`,
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
      `The request exceeds the available context size: the prompt is at least ${least} tokens (${bytes} bytes) and a slot's context holds ${slot} (shorten it or start the server with a larger --ctx-size)`,
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
    ...(params.postSampling && { postSampling: true }),
    ...(params.progress && params.stream && { progress: true }),
    ...(params.keep !== undefined && { keep: params.keep }),
    ...(params.discard !== undefined && { discard: params.discard }),
    ...(params.lora !== undefined && { lora: params.lora }),
    ...(params.chat && {
      preservedTokens: params.chat.preservedTokens,
      generationPrompt: params.chat.generationPrompt,
      ...(params.chat.reasoningBudget && { reasoningBudget: params.chat.reasoningBudget }),
    }),
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
  /** Events for a prompt-progress event (`return_progress`; default none). */
  progress?(event: TokenEvent): Iterable<unknown>;
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
  return await respondTasks(
    c,
    engine,
    [{ tokens: input, params }],
    () => format,
    (bodies) => bodies[0],
  );
}

/** One generation of a request with several (`n` choices, a batch of prompts). */
export interface GenerationTask {
  /** The prompt: tokens, or tokens with images (closed once the task is done). */
  tokens: ArrayLike<number> | MediaPrompt;
  params: GenerationParams;
}

/**
 * Runs `tasks` (choices or prompts of one request) on the scheduler at once and answers with
 * `merge` of their formats' bodies, or one SSE stream of all their events, each shaped by
 * `formatFor(index)`. The first task's `stream` decides which.
 */
export async function respondTasks(
  c: Context<AppEnv>,
  engine: Engine,
  tasks: readonly GenerationTask[],
  formatFor: (index: number) => AnswerFormat,
  merge: (bodies: unknown[]) => unknown,
): Promise<Response> {
  const media = new Set(
    tasks.map((task) => task.tokens).filter((t): t is MediaPrompt => t instanceof MediaPrompt),
  );
  const close = () => {
    for (const prompt of media) prompt.close();
  };
  const deadline = c.get("deadline");
  const formats = tasks.map((_, i) => formatFor(i));
  const starts: Started[] = [];
  try {
    for (const task of tasks) {
      const input = task.tokens;
      checkPromptFits(engine, (input instanceof MediaPrompt ? input.tokens : input).length);
      if (input instanceof MediaPrompt) {
        try {
          checkPromptEnd(input.tokens, input.spans);
        } catch (error) {
          throw new ApiError("invalid_request_error", (error as Error).message, {
            param: "messages",
          });
        }
      }
      if (task.params.loraRequest !== undefined) {
        task.params.lora = loraScales(task.params.loraRequest, engine.scheduler.loraScales);
      }
    }
    for (const task of tasks) {
      const input = task.tokens;
      starts.push(
        task.params.maxTokens === 0
          ? startedEmpty((input instanceof MediaPrompt ? input.tokens : input).length)
          : await startGeneration(engine, slotRequest(input, task.params), deadline.signal),
      );
    }
  } catch (error) {
    for (const s of starts) s.abort();
    close();
    throw error;
  }
  // The image chunks are freed once the scheduler is done with them.
  if (media.size > 0) Promise.allSettled(starts.map((s) => s.result)).then(close);
  c.set("generation", sumResults(starts.map((s) => s.result)));
  const stream = tasks[0]?.params.stream ?? false;
  if (!stream) {
    const outs = await Promise.all(starts.map(collect));
    for (const out of outs) checkTimedOut(out.result, deadline);
    return c.json(merge(outs.map((out, i) => formats[i]!.whole(out))));
  }
  const release = deadline.hold();
  const requestId = c.get("requestId");
  async function* one(i: number): AsyncGenerator<unknown> {
    const format = formats[i]!;
    const started = starts[i]!;
    yield* format.opening?.() ?? [];
    for await (const event of events(started)) {
      if (event.progress !== undefined) yield* format.progress?.(event) ?? [];
      else yield* format.chunks(event);
    }
    const result = await started.result;
    checkTimedOut(result, deadline);
    yield* format.closing(result);
  }
  return sseResponse(interleave(starts.map((_, i) => one(i))), {
    done: formats[0]!.done,
    onCancel: () => starts.forEach((s) => s.abort()),
    onClose: release,
    errorEvent(error) {
      const failure = streamFailure(error, requestId);
      return formats[0]!.errorEvent?.(failure) ?? failure.body();
    },
  });
}

/** The results of several generations as one outcome (summed tokens), for the request log. */
async function sumResults(results: Promise<SlotResult>[]): Promise<SlotResult> {
  const all = await Promise.all(results);
  const first = { ...all[0]! };
  for (const r of all.slice(1)) {
    first.promptTokens += r.promptTokens;
    first.completionTokens += r.completionTokens;
  }
  return first;
}

/** The values of `sources` as they come, each source in its own order. */
async function* interleave(sources: AsyncGenerator<unknown>[]): AsyncGenerator<unknown> {
  if (sources.length === 1) {
    yield* sources[0]!;
    return;
  }
  const pending = new Map<number, Promise<{ i: number; step: IteratorResult<unknown> }>>();
  const pull = (i: number) => pending.set(i, sources[i]!.next().then((step) => ({ i, step })));
  sources.forEach((_, i) => pull(i));
  try {
    while (pending.size > 0) {
      const { i, step } = await Promise.race(pending.values());
      if (step.done) {
        pending.delete(i);
        continue;
      }
      pull(i);
      yield step.value;
    }
  } finally {
    for (const source of sources) await source.return(undefined).catch(() => {});
  }
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

/**
 * llama.cpp `timings`. Until the prompt is evaluated its tokens are not counted; the
 * generation rate is over decode steps, one fewer than the tokens: the first token comes from
 * the prompt's last batch (llama.cpp's `server_slot_stats`).
 */
export function timings(result: SlotTimings, promptDone = true): Record<string, number> {
  const promptN = promptDone ? result.promptTokens - result.cachedTokens : 0;
  const predictedN = result.completionTokens;
  const steps = Math.max(0, predictedN - 1);
  const generateMs = predictedN > 0 ? Math.max(0.001, result.generateMs) : 0;
  const perToken = (ms: number, n: number) => (n > 0 ? ms / n : 0);
  const perSecond = (ms: number, n: number) => (ms > 0 ? (1000 * n) / ms : 0);
  return {
    cache_n: result.cachedTokens,
    prompt_n: promptN,
    prompt_ms: result.promptMs,
    prompt_per_token_ms: perToken(result.promptMs, promptN),
    prompt_per_second: perSecond(result.promptMs, promptN),
    predicted_n: predictedN,
    predicted_ms: generateMs,
    predicted_per_token_ms: perToken(generateMs, steps),
    predicted_per_second: perSecond(generateMs, steps),
  };
}

/** The timings of a stream event (a prompt-progress report counts the prompt once evaluated). */
export function eventTimings(event: TokenEvent): Record<string, number> | null {
  if (event.timings === undefined) return null;
  const p = event.progress;
  const done = p === undefined || p.processed >= p.total;
  return timings(event.timings, done);
}

/** llama.cpp's `prompt_progress` of a progress event. */
export function promptProgress(event: TokenEvent): Record<string, number> | null {
  const p = event.progress;
  if (p === undefined) return null;
  return { total: p.total, cache: p.cache, processed: p.processed, time_ms: Math.round(p.timeMs) };
}

/**
 * The build fingerprint, llama.cpp's `b<build>-<commit>` form (clients check the `b`): our
 * llama.cpp release, then llamafile's version.
 */
export const SYSTEM_FINGERPRINT = `b${LLAMA_CPP_RELEASE.replace(/^v/, "")}-llamafile-${VERSION}`;

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
