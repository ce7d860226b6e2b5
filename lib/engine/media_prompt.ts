/**
 * A prompt with images: text tokens, and the image chunks libmtmd puts where each image goes.
 * Laid out as one token array, in which an image chunk's positions hold a negative placeholder
 * id (the same for the same image content and slice), so that length checks, prompt-prefix
 * reuse between requests and the KV cache's positions work as for text; and the chunks
 * themselves, by where they start. Tokenized as llama.cpp's `mtmd_tokenize` does: each text
 * segment on its own (special tokens parsed as asked), each image as libmtmd puts it (for
 * Gemma 3: `<start_of_image>`, the image, `<end_of_image>`), BOS first when the model adds
 * one.
 *
 * @module
 */
import type { LlamaModel } from "./model.ts";
import type { MediaChunk, Projector, ProjectorImage, TokenizedImage } from "./projector.ts";

/** An image chunk of a prompt and where it sits. */
export interface MediaSpan {
  /** Index of its first position in the prompt's tokens. */
  readonly start: number;
  readonly chunk: MediaChunk;
}

/** Placeholder ids of media content, never reused: the same content gets the same id. */
const placeholders = new Map<string, number>();
let nextPlaceholder = -1;
/** Entries kept; the oldest are forgotten (their content then gets a new id: no reuse). */
const PLACEHOLDER_LIMIT = 4096;

/** The placeholder id of a media chunk's content (negative; never a token id). */
export function placeholderId(key: string): number {
  let id = placeholders.get(key);
  if (id === undefined) {
    id = nextPlaceholder--;
    placeholders.set(key, id);
    if (placeholders.size > PLACEHOLDER_LIMIT) {
      placeholders.delete(placeholders.keys().next().value!);
    }
  }
  return id;
}

/** A prompt of text tokens and image chunks. Close it once no request uses its chunks. */
export class MediaPrompt {
  /** Every position: text token ids, and placeholder ids (< 0) for image chunks. */
  readonly tokens: number[];
  /** The image chunks, in order. */
  readonly spans: readonly MediaSpan[];
  /** True when image positions are M-RoPE positions (positions ≠ token indices after one). */
  readonly mrope: boolean;
  readonly #owned: { close(): void }[];

  /** @internal Use {@linkcode buildMediaPrompt}. */
  constructor(
    tokens: number[],
    spans: MediaSpan[],
    mrope: boolean,
    owned: { close(): void }[],
  ) {
    this.tokens = tokens;
    this.spans = spans;
    this.mrope = mrope;
    this.#owned = owned;
  }

  /** Number of images' chunks. */
  get imageChunks(): number {
    return this.spans.length;
  }

  /** Frees the native chunks; safe to call twice. */
  close(): void {
    for (const owner of this.#owned.splice(0)) owner.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Options of {@linkcode buildMediaPrompt}. */
export interface MediaPromptOptions {
  /** Put BOS first (and EOS last) as the model is configured to (default true). */
  addSpecial?: boolean;
  /** Parse special-token text in the text segments (default true, as llama.cpp's CLI does). */
  parseSpecial?: boolean;
}

/**
 * Tokenizes `parts` (text segments and decoded images, in order) for `projector`'s model. Text
 * segments may also be ready-made token arrays.
 */
export async function buildMediaPrompt(
  projector: Projector,
  parts: readonly (string | ArrayLike<number> | ProjectorImage)[],
  options: MediaPromptOptions = {},
): Promise<MediaPrompt> {
  const model: LlamaModel = projector.model;
  const addSpecial = options.addSpecial ?? true;
  const parseSpecial = options.parseSpecial ?? true;
  const tokens: number[] = [];
  const spans: MediaSpan[] = [];
  const owned: TokenizedImage[] = [];
  const push = (list: ArrayLike<number>) => {
    // A loop, not push(...list): a spread of 200k arguments overflows the stack.
    for (let i = 0; i < list.length; i++) tokens.push(list[i]!);
  };
  try {
    if (addSpecial && model.addsBos && model.bos >= 0) tokens.push(model.bos);
    for (const part of parts) {
      if (typeof part === "string") {
        push(model.tokenize(part, { addSpecial: false, parseSpecial }));
      } else if ("length" in part) {
        push(part);
      } else {
        const image = await projector.tokenizeImage(part);
        owned.push(image);
        for (const piece of image.pieces) {
          if (piece instanceof Int32Array) {
            push(piece);
            continue;
          }
          spans.push({ start: tokens.length, chunk: piece });
          const id = placeholderId(piece.key);
          for (let i = 0; i < piece.tokens; i++) tokens.push(id);
        }
      }
    }
    if (addSpecial && model.addsEos && model.eos >= 0) tokens.push(model.eos);
  } catch (error) {
    for (const image of owned) image.close();
    throw error;
  }
  return new MediaPrompt(tokens, spans, projector.mrope, owned);
}

/**
 * Splits `text` at `marker` into text segments with an image between each two; when the text
 * holds no marker, the images go before it (as llama.cpp's CLI puts them). `images` is the
 * number of images there are.
 *
 * @throws {RangeError} When the markers and the images do not match in number.
 */
export function splitAtMarkers<T>(
  text: string,
  marker: string,
  images: readonly T[],
): (string | T)[] {
  let segments = text.split(marker);
  if (segments.length === 1 && images.length > 0) {
    segments = [...images.map(() => ""), text];
  }
  const markers = segments.length - 1;
  if (markers !== images.length) {
    throw new RangeError(
      `the prompt has ${markers} media marker${markers === 1 ? "" : "s"} (${marker}) and there ${
        images.length === 1 ? "is 1 image" : `are ${images.length} images`
      }`,
    );
  }
  const out: (string | T)[] = [];
  segments.forEach((segment, i) => {
    if (segment !== "") out.push(segment);
    if (i < images.length) out.push(images[i]!);
  });
  return out;
}
