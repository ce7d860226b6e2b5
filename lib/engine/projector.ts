/**
 * A multimodal projector (`--mmproj`): llama.cpp's libmtmd context over a loaded text model. It
 * decodes image files (after {@linkcode inspectImage} has read their header), turns an image
 * into the chunks libmtmd puts for it (the model's image begin/end markers as text tokens, and
 * the image's embedding positions), and evaluates an image chunk into a sequence of a context:
 * encoder, then the embeddings decoded as llama.cpp's helper does (non-causal attention where
 * the model wants it).
 *
 * @module
 */
import { CHUNK_TYPE, type MtmdLibrary, openMtmd } from "../../ffi/mtmd.ts";
import type { LlamaContext } from "./context.ts";
import { ClosedError, NativeError } from "./errors.ts";
import { GgufError, GgufType, readGguf } from "./gguf_reader.ts";
import { ImageError, type ImageInfo, inspectImage, MAX_IMAGE_BYTES } from "./image_check.ts";
import type { LlamaModel } from "./model.ts";
import { checkProjectorMetadata, ModelCheckError } from "./model_check.ts";
import { ProjectorError } from "./projector_error.ts";

/** Options of {@linkcode loadProjector}. */
export interface ProjectorOptions {
  /** Byte offset of the projector's GGUF inside `path` (a llamafile's entry); 0 by default. */
  offset?: number;
  /** Threads of the image encoder (default 4, libmtmd's). */
  threads?: number;
  /** Run the projector on a GPU when there is one (default true; `--no-mmproj-offload`). */
  offload?: boolean;
  /** Flash attention in the encoder (default: libmtmd's auto). */
  flashAttention?: boolean;
  /** Encode a dummy image at load (default false). */
  warmup?: boolean;
  /** Log encode timings (shown where libllama's log is shown). */
  printTimings?: boolean;
}

/** An image the projector decoded (libmtmd's bitmap), ready to be tokenized. Close it once used. */
export class ProjectorImage {
  /** What the header said. */
  readonly info: ImageInfo;
  /** The SHA-256 of the file, hex (libmtmd's id of the bitmap). */
  readonly id: string;
  #bitmap: Deno.PointerValue;
  readonly #free: (bitmap: Deno.PointerObject) => void;

  /** @internal Use {@linkcode Projector.readImage}. */
  constructor(
    info: ImageInfo,
    id: string,
    bitmap: Deno.PointerObject,
    free: (bitmap: Deno.PointerObject) => void,
  ) {
    this.info = info;
    this.id = id;
    this.#bitmap = bitmap;
    this.#free = free;
  }

  /** @internal The native bitmap. */
  get bitmap(): Deno.PointerObject {
    if (this.#bitmap === null) throw new ClosedError("Cannot use the image: it is closed");
    return this.#bitmap;
  }

  /** Frees the bitmap; safe to call twice. */
  close(): void {
    if (this.#bitmap === null) return;
    this.#free(this.#bitmap);
    this.#bitmap = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** One image chunk of a tokenized image: evaluate it into a sequence. */
export interface MediaChunk {
  /** Positions it takes in the KV cache. */
  readonly tokens: number;
  /** Positions it advances the sequence by (`tokens` unless the model uses M-RoPE). */
  readonly positions: number;
  /** A stable key of its content (image hash and slice), for prompt caching. */
  readonly key: string;
  /**
   * Encodes the image and decodes its embeddings into sequence `seq` of `context` from
   * position `pos`; returns the position after it.
   */
  evaluate(context: LlamaContext, seq: number, pos: number): Promise<number>;
}

/** What libmtmd puts for one image: text tokens and image chunks, in order. */
export interface TokenizedImage {
  readonly pieces: readonly (Int32Array | MediaChunk)[];
  /** Frees the native chunks; the pieces' chunks may not be evaluated after. */
  close(): void;
}

/** Milliseconds spent in the image encoder since the projector was loaded. */
interface EncodeStats {
  images: number;
  encodeMs: number;
}

function cleanLog(lines: readonly string[], fallback: string): string {
  const cleaned = lines
    .map((line) => line.replace(/^[\w:]+: /, "").replace(/^error: /, "").trim())
    .filter((line) => line !== "" && !/^hint: /.test(line) && !/^failed to load/.test(line));
  return cleaned[0] ?? fallback;
}

/** Checks the projector file with our GGUF reader: a `clip` GGUF with a vision encoder. */
async function checkProjectorFile(path: string, offset: number): Promise<void> {
  let gguf;
  try {
    gguf = await readGguf(path, { offset });
  } catch (cause) {
    if (cause instanceof Deno.errors.NotCapable) throw cause;
    if (cause instanceof Deno.errors.NotFound) {
      throw new ProjectorError(`Cannot load projector "${path}": no such file`, { cause });
    }
    const reason = cause instanceof GgufError ? cause.reason : (cause as Error).message;
    throw new ProjectorError(`Cannot load projector "${path}": ${reason}`, { cause });
  }
  const arch = gguf.metadata.get("general.architecture");
  if (arch?.value !== "clip") {
    const shown = arch === undefined ? "not set" : JSON.stringify(arch.value);
    throw new ProjectorError(
      `Cannot load projector "${path}": it is not a multimodal projector (general.architecture is ${shown}, expected "clip")`,
    );
  }
  const vision = gguf.metadata.get("clip.has_vision_encoder");
  if (vision === undefined || vision.type !== GgufType.BOOL || vision.value !== true) {
    throw new ProjectorError(
      `Cannot load projector "${path}": it has no vision encoder (clip.has_vision_encoder is not true)`,
    );
  }
  try {
    checkProjectorMetadata(gguf);
  } catch (cause) {
    if (!(cause instanceof ModelCheckError)) throw cause;
    throw new ProjectorError(`Cannot load projector "${path}": ${cause.message}`, { cause });
  }
}

/**
 * Loads the projector at `path` for `model` (libmtmd must be available: see `openMtmd()`).
 * libmtmd checks that the projector's output width is the model's embedding width.
 *
 * @throws {ProjectorError} When the file is no vision projector, or libmtmd refuses it.
 */
export async function loadProjector(
  model: LlamaModel,
  path: string,
  options: ProjectorOptions = {},
): Promise<Projector> {
  const offset = options.offset ?? 0;
  await checkProjectorFile(path, offset);
  const mtmd = openMtmd();
  const lib = mtmd.llama;
  const params = mtmd.contextParams({
    threads: options.threads ?? 4,
    useGpu: options.offload ?? true,
    ...(options.flashAttention !== undefined && { flashAttention: options.flashAttention }),
    warmup: options.warmup ?? false,
    printTimings: options.printTimings ?? false,
  });
  const what = `Cannot load projector "${path}": it is corrupt or unsupported (libmtmd aborted)`;
  const load = () => mtmd.initFromFile(path, offset, model.handle, params);
  let handle = await lib.during(what, load);
  let errors: string[] = [];
  if (handle === null) {
    // The log goes nowhere by default; load again to hear why it failed.
    const mark = lib.errorMark();
    handle = await lib.during(what, () => lib.captureLog(load));
    errors = lib.errorsSince(mark);
  }
  if (handle === null) {
    throw new ProjectorError(
      `Cannot load projector "${path}": ${cleanLog(errors, "libmtmd could not load it")}`,
    );
  }
  return new Projector(mtmd, handle, path, model);
}

/** A loaded projector. Close it before its model. */
export class Projector {
  readonly #mtmd: MtmdLibrary;
  #handle: Deno.PointerValue;
  /** The file it was loaded from. */
  readonly path: string;
  /** The text model it feeds. */
  readonly model: LlamaModel;
  /** True when it takes images. */
  readonly vision: boolean;
  /** True when it takes audio. */
  readonly audio: boolean;
  /** True when the model places image embeddings with M-RoPE (positions ≠ tokens). */
  readonly mrope: boolean;
  /** libmtmd's default media marker, `<__media__>`: where a prompt puts an image. */
  readonly marker: string;
  readonly #stats: EncodeStats = { images: 0, encodeMs: 0 };

  /** @internal Use {@linkcode loadProjector}. */
  constructor(mtmd: MtmdLibrary, handle: Deno.PointerObject, path: string, model: LlamaModel) {
    this.#mtmd = mtmd;
    this.#handle = handle;
    this.path = path;
    this.model = model;
    this.vision = mtmd.symbols.mtmd_support_vision(handle);
    this.audio = mtmd.symbols.mtmd_support_audio(handle);
    this.mrope = mtmd.symbols.mtmd_decode_use_mrope(handle);
    this.marker = mtmd.defaultMarker;
  }

  get #ctx(): Deno.PointerObject {
    if (this.#handle === null) throw new ClosedError("Cannot use the projector: it is closed");
    return this.#handle;
  }

  /** Images encoded and milliseconds spent in the encoder so far. */
  get stats(): Readonly<EncodeStats> {
    return { ...this.#stats };
  }

  /**
   * Decodes an image file's bytes; `name` names it in errors (a path, `image_url[0]`).
   *
   * @throws {ProjectorError} When it is too big, no image of a format libmtmd decodes, or its
   * data is corrupt or cut short.
   */
  async readImage(bytes: Uint8Array, name: string): Promise<ProjectorImage> {
    if (!this.vision) {
      throw new ProjectorError(`Cannot read image ${name}: the projector takes no images`);
    }
    if (bytes.length > MAX_IMAGE_BYTES) {
      throw new ProjectorError(
        `Cannot read image ${name}: it is ${bytes.length} bytes, the largest taken is ${MAX_IMAGE_BYTES}`,
      );
    }
    let info: ImageInfo;
    try {
      info = inspectImage(bytes);
    } catch (cause) {
      if (!(cause instanceof ImageError)) throw cause;
      throw new ProjectorError(`Cannot read image ${name}: ${cause.message}`, { cause });
    }
    const bitmap = await this.#mtmd.bitmapFromBuffer(this.#ctx, bytes);
    if (bitmap === null) {
      const size = info.width > 0 ? ` ${info.width}x${info.height}` : "";
      throw new ProjectorError(
        `Cannot read image ${name}: its ${info.format}${size} data is truncated or corrupt`,
      );
    }
    const symbols = this.#mtmd.symbols;
    if (symbols.mtmd_bitmap_is_audio(bitmap)) {
      symbols.mtmd_bitmap_free(bitmap);
      throw new ProjectorError(`Cannot read image ${name}: it is audio`);
    }
    const id = this.#mtmd.bitmapId(bitmap) ?? "";
    return new ProjectorImage(info, id, bitmap, (b) => symbols.mtmd_bitmap_free(b));
  }

  /** What libmtmd puts for `image`: marker text tokens around its embedding chunks. */
  async tokenizeImage(image: ProjectorImage): Promise<TokenizedImage> {
    const bitmap = image.bitmap;
    const lib = this.#mtmd.llama;
    const mark = lib.errorMark();
    const [code, chunks] = await lib.captureLog(() => this.#mtmd.tokenizeMedia(this.#ctx, bitmap));
    if (code !== 0 || chunks === null) {
      throw new ProjectorError(
        `Cannot tokenize the image: ${
          cleanLog(lib.errorsSince(mark), `mtmd_tokenize returned ${code}`)
        }`,
      );
    }
    const symbols = this.#mtmd.symbols;
    let owned: Deno.PointerValue = chunks;
    const pieces: (Int32Array | MediaChunk)[] = [];
    let slice = 0;
    for (const info of this.#mtmd.chunkList(chunks)) {
      if (info.type === CHUNK_TYPE.text) {
        if (info.tokens.length > 0) pieces.push(info.tokens);
        continue;
      }
      const pointer = info.pointer;
      const label = info.type === CHUNK_TYPE.image ? "image" : "audio";
      pieces.push({
        tokens: info.nTokens,
        positions: info.nPos,
        key: `${info.id ?? image.id}#${slice++}`,
        evaluate: (context, seq, pos) => {
          if (owned === null) throw new ClosedError("Cannot evaluate the image: it is closed");
          return this.#evaluate(context, pointer, seq, pos, label);
        },
      });
    }
    return {
      pieces,
      close: () => {
        if (owned !== null) symbols.mtmd_input_chunks_free(owned);
        owned = null;
      },
    };
  }

  async #evaluate(
    context: LlamaContext,
    chunk: Deno.PointerObject,
    seq: number,
    pos: number,
    label: string,
  ): Promise<number> {
    const lib = this.#mtmd.llama;
    const ctx = this.#ctx;
    return await context.exclusive(async (lctx) => {
      const mark = lib.errorMark();
      const out = await lib.during(
        `Cannot encode the ${label}: libmtmd aborted`,
        () => this.#mtmd.evalMedia(ctx, lctx, chunk, pos, seq, context.batchSize),
      );
      this.#stats.images++;
      this.#stats.encodeMs += out.encodeMs;
      if (out.encodeCode !== 0) {
        throw new NativeError(
          `Cannot encode the ${label}: ${
            cleanLog(lib.errorsSince(mark), `mtmd_encode_chunk returned ${out.encodeCode}`)
          }`,
        );
      }
      if (out.decodeCode !== 0) {
        throw new NativeError(
          `Cannot decode the ${label}'s embeddings: ${
            cleanLog(lib.errorsSince(mark), `llama_decode returned ${out.decodeCode}`)
          }`,
        );
      }
      return out.nextPos;
    });
  }

  /** Frees libmtmd's context; safe to call twice. */
  close(): void {
    if (this.#handle === null) return;
    this.#mtmd.symbols.mtmd_free(this.#handle);
    this.#handle = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
