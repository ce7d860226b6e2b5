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

/**
 * A prompt as a JSON object (llama.cpp's multimodal form): `prompt_string`, and media in
 * `multimodal_data` (`/completion` takes them with a projector; elsewhere they are refused).
 */
const PROMPT_OBJECT = z.object({
  prompt_string: SINGLE_PROMPT,
  multimodal_data: z.optional(z.unknown()),
});

/**
 * `prompt`: one prompt (a string, an array of token ids and strings, an object with
 * `prompt_string`), or a batch of prompts (an array of those with no token id at its top).
 */
export const PROMPT = z.union(
  [
    string(),
    PROMPT_OBJECT,
    z.array(z.union([PROMPT_ITEM, z.array(PROMPT_ITEM), PROMPT_OBJECT])),
  ],
  {
    error: (issue) =>
      issue.input === undefined
        ? "is required"
        : `must be a string, an array of strings and token ids, or an object with prompt_string, got ${
          kind(issue.input)
        }`,
  },
);

/**
 * The prompts of a completion request, as llama.cpp's `tokenize_input_prompts` reads them: an
 * array with a token id at its top is one (mixed) prompt, any other array a batch of prompts.
 * Each is a string, an array of token ids and strings, or an object with `prompt_string`; an
 * object with `multimodal_data` is refused (no projector is loaded).
 */
export function promptList(
  value: unknown,
  vocab: PromptVocab,
  options: { name?: string; addSpecial?: boolean } = {},
): number[][] {
  return promptItems(value, options.name ?? "prompt").map(([item, field]) =>
    promptTokens(item, vocab, {
      name: field,
      ...(options.addSpecial !== undefined && { addSpecial: options.addSpecial }),
    })
  );
}

/** {@linkcode promptList}, with long strings tokenized off the JS thread ({@linkcode promptTokensAsync}). */
export async function promptListAsync(
  value: unknown,
  vocab: AsyncPromptVocab,
  options: { name?: string; addSpecial?: boolean } = {},
): Promise<number[][]> {
  const out: number[][] = [];
  for (const [item, field] of promptItems(value, options.name ?? "prompt")) {
    out.push(
      await promptTokensAsync(item, vocab, {
        name: field,
        ...(options.addSpecial !== undefined && { addSpecial: options.addSpecial }),
      }),
    );
  }
  return out;
}

/**
 * The prompts of a request value with the field each is reported under (see
 * {@linkcode promptList}), not yet tokenized.
 */
export function promptItems(value: unknown, name: string): [unknown, string][] {
  const one = (item: unknown, field: string): [unknown, string] => {
    if (item !== null && typeof item === "object" && !Array.isArray(item)) {
      const object = item as Record<string, unknown>;
      if (object.multimodal_data !== undefined) {
        throw invalidRequest(
          `${field} has multimodal_data, but this model takes no media: no projector (--mmproj) is loaded`,
          field,
        );
      }
      if (object.prompt_string === undefined) {
        throw invalidRequest(`${field} must have a prompt_string`, field);
      }
      return [object.prompt_string, `${field}.prompt_string`];
    }
    return [item, field];
  };
  if (Array.isArray(value) && !value.some((item) => typeof item === "number")) {
    if (value.length === 0) throw invalidRequest(`${name} must not be empty`, name);
    return value.map((item, i) => one(item, `${name}[${i}]`));
  }
  return [one(value, name)];
}

/** A parsed prompt. */
export type PromptInput = z.output<typeof PROMPT>;

/**
 * True when a parsed prompt is the object form (`prompt_string`, and llama.cpp's multimodal
 * `multimodal_data`: base64 files for the server's media markers, from `/props` `media_marker`).
 */
export function isMultimodalPrompt(
  value: unknown,
): value is { prompt_string: unknown; multimodal_data?: unknown } {
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
