/**
 * A raw completion prompt (`/completion`, `/v1/completions`, `/tokenize`): a string,
 * an array of token ids, or a mix of both (llama.cpp's `tokenize_mixed`), or a batch
 * of one of these. Text is tokenized with special-token parsing on, as llama.cpp does:
 * whoever writes a raw prompt writes its markers too. BOS is added when the prompt
 * starts with text and the model wants one.
 *
 * @module
 */
import * as z from "zod/mini";
import { invalidRequest } from "./errors.ts";
import { kind, parseField, string, tokenId } from "./validate.ts";

/** What prompt parsing needs from the model. */
export interface PromptVocab {
  readonly vocabSize: number;
  tokenize(
    text: string,
    options: { addSpecial: boolean; parseSpecial: boolean },
  ): ArrayLike<number>;
}

/** One item of a mixed prompt: text, or a token id (checked against the vocabulary later). */
const PROMPT_ITEM = z.union([string(), tokenId()], {
  error: (issue) =>
    issue.input === undefined
      ? "is required"
      : `must be a string or a token id, got ${kind(issue.input)}`,
});

/** One prompt: a string, or an array of strings and token ids. */
export const SINGLE_PROMPT = z.union([string(), z.array(PROMPT_ITEM)], {
  error: (issue) =>
    issue.input === undefined
      ? "is required"
      : `must be a string or an array of strings and token ids, got ${kind(issue.input)}`,
});

/** `prompt`: one prompt, or a batch of prompts (one string each, or arrays of items). */
export const PROMPT = z.union([string(), z.array(z.union([PROMPT_ITEM, z.array(PROMPT_ITEM)]))], {
  error: (issue) =>
    issue.input === undefined
      ? "is required"
      : `must be a string or an array of strings and token ids, got ${kind(issue.input)}`,
});

/** A parsed prompt. */
export type PromptInput = z.output<typeof PROMPT>;

/**
 * llama.cpp's multimodal prompt: text whose media markers (the server's, from `/props`
 * `media_marker`) stand for the base64 files of `multimodal_data`, in order.
 */
export const MULTIMODAL_PROMPT = z.object({
  prompt_string: string(),
  multimodal_data: z.optional(z.array(string(), {
    error: (issue) => `must be an array of base64 strings, got ${kind(issue.input)}`,
  })),
}, { error: (issue) => `must be an object, got ${kind(issue.input)}` });

/** A parsed multimodal prompt. */
export type MultimodalPrompt = z.output<typeof MULTIMODAL_PROMPT>;

/** `prompt` of `/completion`: a prompt, a batch of prompts, or a multimodal prompt. */
export const NATIVE_PROMPT = z.union([PROMPT, MULTIMODAL_PROMPT], {
  error: (issue) =>
    issue.input === undefined
      ? "is required"
      : `must be a string, an array of strings and token ids, or {"prompt_string": ..., "multimodal_data": [...]}, got ${
        kind(issue.input)
      }`,
});

/** True when a parsed `/completion` prompt is the multimodal object. */
export function isMultimodalPrompt(value: unknown): value is MultimodalPrompt {
  return value !== null && typeof value === "object" && !Array.isArray(value) &&
    "prompt_string" in value;
}

/** Tokens of a mixed prompt; `name` is the field, for messages. */
export function promptTokens(
  value: unknown,
  vocab: PromptVocab,
  options: { name?: string; addSpecial?: boolean; parseSpecial?: boolean } = {},
): number[] {
  const name = options.name ?? "prompt";
  const parseSpecial = options.parseSpecial ?? true;
  const addSpecial = options.addSpecial ?? true;
  const prompt = parseField(SINGLE_PROMPT, value, name);
  if (typeof prompt === "string") {
    return Array.from(vocab.tokenize(prompt, { addSpecial, parseSpecial }));
  }
  const inVocabulary = tokenId(vocab.vocabSize);
  const out: number[] = [];
  prompt.forEach((item, i) => {
    if (typeof item === "string") {
      // A loop, not push(...tokens): a spread of 200k arguments overflows the stack.
      const tokens = vocab.tokenize(item, { addSpecial: addSpecial && i === 0, parseSpecial });
      for (let j = 0; j < tokens.length; j++) out.push(tokens[j]!);
    } else {
      out.push(parseField(inVocabulary, item, `${name}[${i}]`));
    }
  });
  return out;
}

/** Strings at least this long (UTF-8 bytes) are tokenized off the JS thread. */
export const OFF_THREAD_BYTES = 64 * 1024;

/** A vocabulary that can also tokenize off the JS thread. */
export interface AsyncPromptVocab extends PromptVocab {
  tokenizeAsync(
    text: string,
    options: { addSpecial: boolean; parseSpecial: boolean },
  ): Promise<ArrayLike<number>>;
}

/**
 * {@linkcode promptTokens}, with its long strings tokenized off the JS thread first (megabytes
 * take seconds, and the server keeps answering meanwhile); short ones as before.
 */
export async function promptTokensAsync(
  value: unknown,
  vocab: AsyncPromptVocab,
  options: { name?: string; addSpecial?: boolean; parseSpecial?: boolean } = {},
): Promise<number[]> {
  const parseSpecial = options.parseSpecial ?? true;
  const addSpecial = options.addSpecial ?? true;
  const prompt = parseField(SINGLE_PROMPT, value, options.name ?? "prompt");
  const items = typeof prompt === "string" ? [prompt] : prompt;
  const done = new Map<string, ArrayLike<number>>();
  const key = (text: string, special: boolean) => `${special ? 1 : 0}${text}`;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item !== "string" || utf8Length(item) < OFF_THREAD_BYTES) continue;
    const special = addSpecial && i === 0;
    done.set(
      key(item, special),
      await vocab.tokenizeAsync(item, { addSpecial: special, parseSpecial }),
    );
  }
  if (done.size === 0) return promptTokens(value, vocab, options);
  return promptTokens(value, {
    vocabSize: vocab.vocabSize,
    tokenize: (text, o) => done.get(key(text, o.addSpecial)) ?? vocab.tokenize(text, o),
  }, options);
}

/**
 * The single prompt of a completion request. A batch (`["a", "b"]` or `[[1, 2], [3]]`)
 * is refused unless it holds one prompt: one choice per request is supported.
 */
export function singlePrompt(value: unknown, name = "prompt"): unknown {
  if (!Array.isArray(value)) return value;
  const nested = value.length > 0 && value.every((item) => Array.isArray(item));
  const strings = value.length > 1 && value.every((item) => typeof item === "string");
  if (nested || strings) {
    if (value.length !== 1) {
      throw invalidRequest(
        `${name} holds ${value.length} prompts: send one prompt per request`,
        name,
      );
    }
    return value[0];
  }
  return value;
}

/** Bytes of `text` in UTF-8, without encoding it. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * The text (strings only) of a prompt value, for a size check before tokenizing: a string, or
 * the strings of an array or of an array of arrays (a batch). Deeper values are not prompts,
 * and their validation reports them.
 */
export function promptTexts(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (!Array.isArray(value)) return [];
  const out: string[] = [];
  for (const item of value) {
    if (typeof item === "string") out.push(item);
    else if (Array.isArray(item)) {
      for (const inner of item) if (typeof inner === "string") out.push(inner);
    }
  }
  return out;
}
