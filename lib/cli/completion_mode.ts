/**
 * CLI mode: one completion of the prompt, streamed to stdout like a Unix filter.
 *
 * @module
 */
import { type CliOptions, UsageError } from "./options.ts";
import { commonPrefix } from "../engine/common_prefix.ts";
import { type ContextOptions, createContext, ropeFromFlags } from "../engine/context.ts";
import { processEscapes } from "./escapes.ts";
import type { PromptCacheFile } from "./prompt_cache.ts";
import { generate, type GenerateResult } from "../engine/generate.ts";
import { resolveGrammar } from "./grammar_source.ts";
import { MAX_IMAGE_BYTES } from "../engine/image_check.ts";
import { buildMediaPrompt, type MediaPrompt, splitAtMarkers } from "../engine/media_prompt.ts";
import type { LoraAdapters } from "../engine/lora.ts";
import type { LlamaModel } from "../engine/model.ts";
import type { Projector, ProjectorImage } from "../engine/projector.ts";
import { ProjectorError } from "../engine/projector_error.ts";
import { pickSampling, type SamplingOptions } from "../engine/sampler.ts";
import { endStdoutLine, writeStderr, writeStdout } from "../util/stdout_writer.ts";
import { readLimited } from "../util/read_limited.ts";
import { trace } from "../util/trace.ts";
import { trainedContextWarning } from "../util/trained_context_warning.ts";

/** The largest prompt file `-f` reads (far more than any context holds). */
export const MAX_PROMPT_FILE = 64 << 20;

/** Reads the prompt from `-p` or `-f` (dropping one trailing newline from a file, like llama.cpp). */
export async function readPrompt(options: CliOptions): Promise<string | undefined> {
  if (options.binaryFile !== undefined) {
    return await textOrFile(undefined, options.binaryFile, "prompt file", options.escape, true);
  }
  return await textOrFile(options.prompt, options.file, "prompt file", options.escape);
}

/** Reads the chat's system message from `-sys` or `-sysf`, as {@linkcode readPrompt} does. */
export async function readSystemPrompt(options: CliOptions): Promise<string | undefined> {
  return await textOrFile(
    options.systemPrompt,
    options.systemPromptFile,
    "system prompt file",
    options.escape,
  );
}

async function textOrFile(
  text: string | undefined,
  file: string | undefined,
  what: string,
  escape: boolean,
  keepNewline = false,
): Promise<string | undefined> {
  if (file !== undefined) {
    try {
      // Deno asks for --allow-all to open /dev/stdin by path; read the stream instead.
      const source = file === "/dev/stdin" || file === "-" ? Deno.stdin.readable : file;
      text = new TextDecoder().decode(await readLimited(source, MAX_PROMPT_FILE));
    } catch (cause) {
      if (cause instanceof Deno.errors.NotCapable) throw cause;
      throw new UsageError(`Cannot read ${what} "${file}": ${(cause as Error).message}`);
    }
    if (!keepNewline && text.endsWith("\n")) text = text.slice(0, -1);
  }
  if (text !== undefined && escape) text = processEscapes(text);
  return text;
}

/** An `--image` file's bytes, read before the model loads (a missing file fails fast). */
export interface ImageFile {
  path: string;
  bytes: Uint8Array;
}

/**
 * Reads the `--image` files (at most {@linkcode MAX_IMAGE_BYTES} each); they are decoded once
 * the projector is loaded.
 */
export async function readImages(options: CliOptions): Promise<ImageFile[]> {
  const out: ImageFile[] = [];
  for (const path of options.image) {
    try {
      out.push({ path, bytes: await readLimited(path, MAX_IMAGE_BYTES) });
    } catch (cause) {
      if (cause instanceof Deno.errors.NotCapable) throw cause;
      const reason = cause instanceof Deno.errors.NotFound
        ? "no such file"
        : cause instanceof Deno.errors.IsADirectory
        ? "it is a directory"
        : (cause as Error).message;
      throw new ProjectorError(`Cannot read image "${path}": ${reason}`, { cause });
    }
  }
  return out;
}

/**
 * The prompt with `images` where its media markers are (before it when it has none), tokenized
 * as llama.cpp's CLI does: BOS first, special tokens parsed.
 */
export async function imagePrompt(
  projector: Projector,
  prompt: string,
  images: readonly ImageFile[],
): Promise<MediaPrompt> {
  const decoded: ProjectorImage[] = [];
  try {
    for (const image of images) {
      decoded.push(await projector.readImage(image.bytes, `"${image.path}"`));
    }
    let parts;
    try {
      parts = splitAtMarkers(prompt, projector.marker, decoded);
    } catch (cause) {
      throw new ProjectorError(`Cannot place the images: ${(cause as Error).message}`, { cause });
    }
    return await buildMediaPrompt(projector, parts, { addSpecial: true, parseSpecial: true });
  } finally {
    // The chunks hold what they need; the bitmaps are no longer used.
    for (const image of decoded) image.close();
  }
}

/** The sampling options of the command line, with the grammar read from where it was named. */
export async function samplingFromCli(options: CliOptions): Promise<SamplingOptions> {
  const grammar = await resolveGrammar(options);
  return { ...pickSampling({ ...options, grammar }) };
}

/** The context the command line asks for (CLI and chat modes). */
export function contextOptionsFromCli(options: CliOptions): ContextOptions {
  return {
    ...(options.contextSize !== undefined && { contextSize: options.contextSize }),
    batchSize: options.batchSize,
    ubatchSize: options.ubatchSize,
    ...(options.threads !== undefined && { threads: options.threads }),
    ...(options.threadsBatch !== undefined && { threadsBatch: options.threadsBatch }),
    poll: options.poll,
    ...(options.flashAttention !== undefined && { flashAttention: options.flashAttention }),
    ...(!options.offloadKqv && { offloadKqv: false }),
    typeK: options.cacheTypeK,
    typeV: options.cacheTypeV,
    swaFull: options.swaFull,
    ...(ropeFromFlags(options) !== undefined && { rope: ropeFromFlags(options)! }),
  };
}

/** Warns on stderr (unless `--log-disable`) when the context exceeds the trained one. */
export function warnPastTrainedContext(size: number, trained: number, options: CliOptions): void {
  const warning = trainedContextWarning(size, trained);
  if (warning !== null && !options.logDisable) writeStderr(`llamafile: ${warning}`);
}

/** Runs one completion; returns the generation result. Output goes to stdout as it comes. */
export async function runCompletion(
  model: LlamaModel,
  options: CliOptions,
  prompt: string,
  sampling: SamplingOptions,
  signal: AbortSignal,
  cache: PromptCacheFile | null = null,
  vision: { projector: Projector; images: readonly ImageFile[] } | null = null,
  lora: LoraAdapters | null = null,
): Promise<GenerateResult> {
  using media = vision === null || vision.images.length === 0
    ? null
    : await imagePrompt(vision.projector, prompt, vision.images);
  const context = await createContext(model, contextOptionsFromCli(options));
  trace("context created");
  try {
    lora?.applyTo(context);
    warnPastTrainedContext(context.size, model.trainedContext, options);
    const stops = options.reversePrompt.map((r) => (options.escape ? processEscapes(r) : r));
    const tokens = media?.tokens ??
      model.tokenize(prompt, { addSpecial: true, parseSpecial: true });
    const cachedTokens = cache === null
      ? 0
      : commonPrefix((await context.loadState(await cache.read())) ?? [], tokens);
    const run = generate(context, media ?? tokens, {
      ...sampling,
      // One process, one stream: each token's decode on this thread, no hop to another.
      syncDecode: true,
      maxTokens: options.nPredict,
      stop: stops,
      signal,
      cachedTokens,
      ...(cache !== null && !cache.readOnly && {
        // Like llama.cpp's --prompt-cache: the state after the prompt, for the next run.
        onPromptDone: async (prompt: ArrayLike<number>) => {
          try {
            await cache.write(await context.saveState(prompt));
          } catch (error) {
            writeStderr(
              `llamafile: warning: cannot write the prompt cache "${cache.path}": ${
                (error as Error).message
              }`,
            );
          }
        },
      }),
    });
    // The prompt is echoed once generation has started, so that a bad grammar or logit bias
    // fails with nothing on stdout.
    let step = await run.next();
    trace("first token");
    if (options.displayPrompt) writeStdout(prompt);
    while (!step.done) {
      writeStdout(step.value);
      step = await run.next();
    }
    const result = step.value;
    if (result.finishReason === "context" || !options.logDisable) endStdoutLine();
    if (result.finishReason === "context") {
      writeStderr(
        `llamafile: stopped: the context (${context.size} tokens) is full; raise -c to go on`,
      );
    }
    if (!options.logDisable) writeStderr(timingsLine(result));
    return result;
  } finally {
    await context.close();
  }
}

function rate(tokens: number, ms: number): string {
  return ms > 0 ? `${(tokens / (ms / 1000)).toFixed(1)} tok/s` : "n/a";
}

/** The one-line timings summary printed on stderr (also the chat's `/stats`). */
export function timingsLine(
  result: Pick<
    GenerateResult,
    | "promptTokens"
    | "cachedTokens"
    | "promptMs"
    | "completionTokens"
    | "generateMs"
    | "finishReason"
  >,
): string {
  const cached = result.cachedTokens > 0 ? ` (${result.cachedTokens} from the prompt cache)` : "";
  return `llamafile: prompt ${result.promptTokens} tokens${cached} in ${
    result.promptMs.toFixed(1)
  } ms ` +
    `(${
      rate(result.promptTokens, result.promptMs)
    }), generated ${result.completionTokens} tokens in ` +
    `${result.generateMs.toFixed(1)} ms (${rate(result.completionTokens, result.generateMs)}), ` +
    `stop: ${result.finishReason}`;
}
