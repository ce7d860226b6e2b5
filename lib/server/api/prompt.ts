/**
 * A raw completion prompt (`/completion`, `/v1/completions`, `/tokenize`): a string,
 * an array of token ids, or a mix of both (llama.cpp's `tokenize_mixed`), or a batch
 * of one of these. Text is tokenized with special-token parsing on, as llama.cpp does:
 * whoever writes a raw prompt writes its markers too. BOS is added when the prompt
 * starts with text and the model wants one.
 *
 * @module
 */
import { invalidRequest } from "./errors.ts";
import { checkToken, kind } from "./validate.ts";

/** What prompt parsing needs from the model. */
export interface PromptVocab {
  readonly vocabSize: number;
  tokenize(
    text: string,
    options: { addSpecial: boolean; parseSpecial: boolean },
  ): ArrayLike<number>;
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
  if (value === undefined || value === null) throw invalidRequest(`${name} is required`, name);
  if (typeof value === "string") {
    return Array.from(vocab.tokenize(value, { addSpecial, parseSpecial }));
  }
  if (!Array.isArray(value)) {
    throw invalidRequest(
      `${name} must be a string or an array of strings and token ids, got ${kind(value)}`,
      name,
    );
  }
  const out: number[] = [];
  value.forEach((item, i) => {
    if (typeof item === "string") {
      out.push(
        ...Array.from(vocab.tokenize(item, { addSpecial: addSpecial && i === 0, parseSpecial })),
      );
    } else if (typeof item === "number") {
      out.push(checkToken(item, `${name}[${i}]`, vocab.vocabSize));
    } else {
      throw invalidRequest(`${name}[${i}] must be a string or a token id, got ${kind(item)}`, name);
    }
  });
  return out;
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
