/**
 * libmtmd (llama.cpp's multimodal library) through FFI: opened once per process beside
 * libllama (before the sandbox, like libllama), its struct layouts checked against its defaults,
 * its log routed with libllama's; and the calls the engine's projector makes, with the structs
 * and pointer arrays they take built here (the only place that touches them).
 *
 * libmtmd is not in the npm package: `deno task build-mtmd` builds it from the same release's
 * source against the npm libllama/libggml (see `scripts/build_mtmd.ts`), and a llamafile packed
 * with `--mmproj` carries it beside libllama.
 *
 * @module
 */
import { dlopenLazy, type LazyLibrary } from "./dlopen_lazy.ts";
import { addressOf, cString, pointerValue, readCString } from "./cstring.ts";
import { LibraryLoadError, type LlamaLibrary, openLibrary } from "./library.ts";
import { libraryDir, MTMD_LIB, mtmdBuildDir, mtmdLibraryPath } from "./library_path.ts";
import { assertMtmdAbi, MTMD_CONTEXT_PARAMS, MTMD_INPUT_TEXT } from "./structs.ts";
import { MTMD_SYMBOLS } from "./symbols.ts";

/** libmtmd symbols, bound. */
export type MtmdSymbols = Deno.DynamicLibrary<typeof MTMD_SYMBOLS>["symbols"];

/** `enum mtmd_input_chunk_type`. */
export const CHUNK_TYPE = { text: 0, image: 1, audio: 2 } as const;

/** One chunk of a tokenized media input. */
export interface MtmdChunkInfo {
  /** The native chunk (owned by its chunk list). */
  pointer: Deno.PointerObject;
  /** `CHUNK_TYPE` value. */
  type: number;
  /** The tokens of a text chunk (empty for media). */
  tokens: Int32Array;
  /** Positions in the text model's KV cache (tokens for media). */
  nTokens: number;
  /** Positions it advances the sequence by (`n_tokens` except for M-RoPE models). */
  nPos: number;
  /** A media chunk's id (the SHA-256 of the image file, as libmtmd's helper sets it), or null. */
  id: string | null;
}

/** What {@linkcode MtmdLibrary.contextParams} sets. */
export interface MtmdContextSettings {
  /** Threads of the image encoder. */
  threads: number;
  /** Offload the projector to a GPU when there is one (`--no-mmproj-offload` turns it off). */
  useGpu: boolean;
  /** Flash attention in the encoder: true, false, or libmtmd's auto (undefined). */
  flashAttention?: boolean;
  /** Encode a dummy image at load, so the first real one is not slower. */
  warmup: boolean;
  /** Log encode timings (through the log; shown with `--verbose`). */
  printTimings: boolean;
}

/** The process-wide handle on libmtmd. */
export interface MtmdLibrary {
  /** Where it was loaded from. */
  readonly path: string;
  readonly symbols: MtmdSymbols;
  /** The libllama it binds to. */
  readonly llama: LlamaLibrary;
  /** `mtmd_default_marker()`: `<__media__>`. */
  readonly defaultMarker: string;
  /** `mtmd_context_params` for `settings`, over the library's defaults. */
  contextParams(settings: MtmdContextSettings): Uint8Array<ArrayBuffer>;
  /** Default `mtmd_helper_init_opt`. */
  initOpt(): Uint8Array<ArrayBuffer>;
  /**
   * Loads a projector from `path` (its GGUF starting at byte `offset`: a llamafile's entry read
   * in place) for the text model `model`; NULL on failure (the reason is in the log).
   */
  initFromFile(
    path: string,
    offset: number,
    model: Deno.PointerObject,
    params: Uint8Array<ArrayBuffer>,
  ): Promise<Deno.PointerValue>;
  /** Decodes an image file's bytes into a bitmap (NULL when it is no image libmtmd decodes). */
  bitmapFromBuffer(ctx: Deno.PointerObject, bytes: Uint8Array): Promise<Deno.PointerValue>;
  /** A bitmap's id (the SHA-256 hex of its file). */
  bitmapId(bitmap: Deno.PointerObject): string | null;
  /**
   * Tokenizes one media marker with `bitmap` into a new chunk list (what libmtmd puts for the
   * image: its begin/end markers as text and the image chunks); returns `[code, chunks]`.
   */
  tokenizeMedia(
    ctx: Deno.PointerObject,
    bitmap: Deno.PointerObject,
  ): Promise<[number, Deno.PointerValue]>;
  /** The chunks of a chunk list. */
  chunkList(chunks: Deno.PointerObject): MtmdChunkInfo[];
  /**
   * Encodes a media chunk, then decodes its embeddings into sequence `seq` of `lctx` from
   * position `pos` in batches of `nBatch`: `[0, next position]` on success, else the failing
   * step and its code.
   */
  evalMedia(
    ctx: Deno.PointerObject,
    lctx: Deno.PointerObject,
    chunk: Deno.PointerObject,
    pos: number,
    seq: number,
    nBatch: number,
  ): Promise<{ encodeCode: number; decodeCode: number; nextPos: number; encodeMs: number }>;
}

/** libmtmd could not be found or opened. */
export class MtmdUnavailableError extends LibraryLoadError {
  override name = "MtmdUnavailableError";
}

let opened: MtmdLibrary | null = null;

/** Keeps a buffer that native code reads through a pointer stored elsewhere reachable. */
const retained = new Set<unknown>();
function keepAlive(buffer: unknown): void {
  retained.add(buffer);
}

/** Where `openMtmd()` looked, for the error that says it found nothing. */
function searchedPlaces(): string {
  const built = mtmdBuildDir();
  return [`beside libllama in "${libraryDir()}"`, ...(built ? [`"${built}/lib"`] : [])].join(
    " or ",
  );
}

/** True when a libmtmd can be found (see `mtmdLibraryPath()`), without opening it. */
export function mtmdAvailable(): boolean {
  return mtmdLibraryPath() !== null;
}

/** Opens libmtmd (once; libllama first); later calls return the same handle. */
export function openMtmd(): MtmdLibrary {
  if (opened) return opened;
  const llama = openLibrary();
  const path = mtmdLibraryPath(llama.dir);
  if (path === null) {
    throw new MtmdUnavailableError(
      `Cannot find ${MTMD_LIB} ${searchedPlaces()}: build it with "deno task build-mtmd" (once; needs cmake and g++), or set LLAMAFILE_MTMD_LIB`,
    );
  }
  let lib: LazyLibrary<typeof MTMD_SYMBOLS>;
  try {
    lib = dlopenLazy(path, MTMD_SYMBOLS);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotCapable) throw cause;
    throw new MtmdUnavailableError(`Cannot open "${path}": ${(cause as Error).message}`, {
      cause,
    });
  }
  const s = lib.symbols;
  llama.addLogTarget((callback) => s.mtmd_helper_log_set(callback, null));
  const defaults = () => new Uint8Array(s.mtmd_context_params_default());
  const initOpt = () => new Uint8Array(s.mtmd_helper_init_opt_default());
  const first = defaults();
  const markerAt = new DataView(first.buffer).getBigUint64(MTMD_CONTEXT_PARAMS.media_marker, true);
  const marker = readCString(markerAt === 0n ? null : Deno.UnsafePointer.create(markerAt));
  assertMtmdAbi(first, initOpt(), marker);
  const defaultMarker = readCString(s.mtmd_default_marker()) ?? "<__media__>";
  // Text of the one marker tokenizeMedia() passes, with its mtmd_input_text (kept alive here).
  const markerText = new TextEncoder().encode(defaultMarker);
  const markerInput = new Uint8Array(MTMD_INPUT_TEXT.size);
  {
    const view = new DataView(markerInput.buffer);
    view.setBigUint64(MTMD_INPUT_TEXT.text, addressOf(markerText), true);
    view.setBigUint64(MTMD_INPUT_TEXT.text_len, BigInt(markerText.length), true);
    view.setUint8(MTMD_INPUT_TEXT.add_special, 0);
    view.setUint8(MTMD_INPUT_TEXT.parse_special, 1);
  }
  const sizeOut = new BigUint64Array(1);

  opened = {
    path,
    symbols: s,
    llama,
    defaultMarker,
    contextParams(settings) {
      const params = defaults();
      const view = new DataView(params.buffer);
      view.setUint8(MTMD_CONTEXT_PARAMS.use_gpu, settings.useGpu ? 1 : 0);
      view.setUint8(MTMD_CONTEXT_PARAMS.print_timings, settings.printTimings ? 1 : 0);
      view.setInt32(MTMD_CONTEXT_PARAMS.n_threads, settings.threads, true);
      view.setInt32(
        MTMD_CONTEXT_PARAMS.flash_attn_type,
        settings.flashAttention === undefined ? -1 : settings.flashAttention ? 1 : 0,
        true,
      );
      view.setUint8(MTMD_CONTEXT_PARAMS.warmup, settings.warmup ? 1 : 0);
      return params;
    },
    initOpt,
    async initFromFile(file, offset, model, params) {
      const name = cString(file);
      if (offset > 0 && s.llamafile_mtmd_set_offset(name, BigInt(offset)) !== 0) {
        throw new RangeError(`Cannot load projector "${file}": the path is too long`);
      }
      try {
        return await s.mtmd_init_from_file(name, model, params);
      } finally {
        if (offset > 0) s.llamafile_mtmd_set_offset(null, 0n);
      }
    },
    async bitmapFromBuffer(ctx, bytes) {
      const opt = initOpt();
      const result = new Uint8Array(
        await s.mtmd_helper_bitmap_init_from_buf(
          ctx,
          bytes as Uint8Array<ArrayBuffer>,
          BigInt(bytes.length),
          false,
          opt,
        ),
      );
      // bitmap @0; video_ctx @8 stays NULL in a build without video (MTMD_VIDEO off).
      const bitmap = new DataView(result.buffer).getBigUint64(0, true);
      return bitmap === 0n ? null : Deno.UnsafePointer.create(bitmap);
    },
    bitmapId(bitmap) {
      return readCString(s.mtmd_bitmap_get_id(bitmap));
    },
    async tokenizeMedia(ctx, bitmap) {
      const chunks = s.mtmd_input_chunks_init();
      if (chunks === null) return [-1, null];
      const bitmaps = new BigUint64Array([pointerValue(bitmap)]);
      const code = await s.mtmd_tokenize(
        ctx,
        chunks,
        markerInput,
        new Uint8Array(bitmaps.buffer),
        1n,
      );
      // markerInput points into markerText: it must live as long as the call.
      keepAlive(markerText);
      if (code !== 0) {
        s.mtmd_input_chunks_free(chunks);
        return [code, null];
      }
      return [0, chunks];
    },
    chunkList(chunks) {
      const out: MtmdChunkInfo[] = [];
      const count = Number(s.mtmd_input_chunks_size(chunks));
      for (let i = 0; i < count; i++) {
        const pointer = s.mtmd_input_chunks_get(chunks, BigInt(i));
        if (pointer === null) continue;
        const type = s.mtmd_input_chunk_get_type(pointer);
        let tokens = new Int32Array(0);
        if (type === CHUNK_TYPE.text) {
          const data = s.mtmd_input_chunk_get_tokens_text(pointer, new Uint8Array(sizeOut.buffer));
          const n = Number(sizeOut[0]);
          if (data !== null && n > 0) {
            tokens = new Int32Array(n);
            new Deno.UnsafePointerView(data).copyInto(tokens);
          }
        }
        out.push({
          pointer,
          type,
          tokens,
          nTokens: Number(s.mtmd_input_chunk_get_n_tokens(pointer)),
          nPos: s.mtmd_input_chunk_get_n_pos(pointer),
          id: type === CHUNK_TYPE.text ? null : readCString(s.mtmd_input_chunk_get_id(pointer)),
        });
      }
      return out;
    },
    async evalMedia(ctx, lctx, chunk, pos, seq, nBatch) {
      const started = performance.now();
      const encodeCode = await s.mtmd_encode_chunk(ctx, chunk);
      const encodeMs = performance.now() - started;
      if (encodeCode !== 0) return { encodeCode, decodeCode: 0, nextPos: pos, encodeMs };
      const embd = s.mtmd_get_output_embd(ctx);
      const posOut = new Int32Array([pos]);
      const decodeCode = await s.mtmd_helper_decode_image_chunk(
        ctx,
        lctx,
        chunk,
        embd,
        pos,
        seq,
        nBatch,
        new Uint8Array(posOut.buffer),
        null,
        null,
      );
      return { encodeCode, decodeCode, nextPos: posOut[0]!, encodeMs };
    },
  };
  return opened;
}
