/**
 * A loaded GGUF model: weights, vocabulary, metadata.
 *
 * @module
 */
import {
  type BackendDevice,
  bufferTypeByName,
  bufferTypeNames,
  listDevices,
} from "../../ffi/backend_registry.ts";
import { ProgressCallback } from "../../ffi/callbacks.ts";
import { cString, decodeBytes, readCString } from "../../ffi/cstring.ts";
import { applyBuiltinChatTemplate, builtinChatTemplateNames } from "../../ffi/chat_builtin.ts";
import { CFile } from "../../ffi/file.ts";
import { type LlamaLibrary, openLibrary } from "../../ffi/library.ts";
import { modelParams, type TensorOverride } from "../../ffi/params.ts";
import { ClosedError, ModelLoadError, reasonFromLog } from "./errors.ts";
import { fitGpuLayers, layerBytes } from "./fit_layers.ts";
import { GgufError, ggufNumber, ggufString, readGguf } from "./gguf_reader.ts";
import { type LayerPlacement, PlacementCollector } from "./layer_placement.ts";
import { checkModelMetadata, ModelCheckError } from "./model_check.ts";
import type { NativeChatTemplates } from "./chat_template.ts";

/** Options for {@linkcode loadModel}. */
export interface LoadModelOptions {
  /** Byte offset of the GGUF inside `path` (a llamafile's stored weights entry); 0 by default. */
  offset?: number;
  /**
   * Layers to offload to `devices`: a count (the output layer counts as one, taken first),
   * `"all"`, or `"auto"` (as many as fit in the devices' free memory, 1 GiB kept free).
   */
  gpuLayers?: number | "all" | "auto";
  /**
   * The devices to offload to (from `setUpGpu`), in order; empty keeps everything on the CPU.
   * Absent: libllama's own choice among the devices registered (only the CPU, unless a GPU
   * backend was loaded).
   */
  devices?: readonly BackendDevice[];
  /** How to split the model over several devices (llama.cpp's `-sm`; default `layer`). */
  splitMode?: SplitMode;
  /** Index into `devices` of the GPU holding the model with split mode `none`. */
  mainGpu?: number;
  /** Proportions of the model per device (llama.cpp's `-ts`). */
  tensorSplit?: readonly number[];
  /** Tensors whose name matches `pattern` (a regex) go to the buffer type `buffer` (`-ot`). */
  overrides?: readonly { pattern: string; buffer: string }[];
  /** Only read the metadata and simulate the allocations: for a placement report. */
  noAlloc?: boolean;
  /** Memory-map the weights (default true). */
  mmap?: boolean;
  /** Lock the weights in RAM. */
  mlock?: boolean;
  /** Repack weights for faster prompt processing (default true; costs anonymous memory). */
  repack?: boolean;
  /** Load only the vocabulary. */
  vocabOnly?: boolean;
  /**
   * Check the metadata with our own reader first, refusing values libllama aborts on (default
   * true; see `model_check.ts`). Only tests of the sandbox's containment turn it off.
   */
  checkMetadata?: boolean;
  /** Called with load progress in [0, 1]. */
  onProgress?: (fraction: number) => void;
  /** Aborts the load. */
  signal?: AbortSignal;
}

/** How weights are loaded unless told otherwise, under the names of {@linkcode LoadModelOptions}. */
export const LOAD_DEFAULTS = { mmap: true, mlock: false, repack: true } as const;

/** `enum llama_split_mode`, by llama.cpp's `-sm` names. */
export const SPLIT_MODES = { none: 0, layer: 1, row: 2, tensor: 3 } as const;

/** How a model is split over several devices. */
export type SplitMode = keyof typeof SPLIT_MODES;

async function resolveGpuLayers(
  path: string,
  offset: number,
  layers: number | "all" | "auto",
  devices: readonly BackendDevice[],
): Promise<number> {
  if (layers === "all") return -1;
  if (layers !== "auto") return layers;
  const gguf = await readGguf(path, { offset, lazyStrings: true });
  const arch = ggufString(gguf, "general.architecture") ?? "llama";
  const nLayer = ggufNumber(gguf, `${arch}.block_count`) ?? 0;
  const free = devices.reduce((sum, device) => sum + device.freeBytes, 0);
  return fitGpuLayers(layerBytes(gguf.tensors, nLayer), free);
}

function tensorOverrides(
  lib: LlamaLibrary,
  overrides: readonly { pattern: string; buffer: string }[],
): TensorOverride[] {
  const devices = listDevices(lib);
  return overrides.map(({ pattern, buffer }) => {
    try {
      new RegExp(pattern);
    } catch {
      throw new RangeError(`Cannot override tensors "${pattern}": not a regular expression`);
    }
    const bufferType = bufferTypeByName(lib, devices, buffer);
    if (bufferType === null) {
      throw new RangeError(
        `Cannot override tensors "${pattern}" to "${buffer}": no such buffer type (there are ${
          bufferTypeNames(lib, devices).join(", ")
        })`,
      );
    }
    return { pattern, bufferType };
  });
}

const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian

/** Checks the file and its GGUF magic (synchronous calls: see `SMALL_MODEL_BYTES`). */
function checkFile(path: string, offset: number): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (cause) {
    if (cause instanceof Deno.errors.NotCapable) throw cause;
    if (cause instanceof Deno.errors.NotFound) {
      throw new ModelLoadError(`Cannot load model "${path}": no such file`, { cause });
    }
    throw new ModelLoadError(`Cannot load model "${path}": ${(cause as Error).message}`, { cause });
  }
  if (info.isDirectory) throw new ModelLoadError(`Cannot load model "${path}": it is a directory`);
  if (!info.isFile) throw new ModelLoadError(`Cannot load model "${path}": not a regular file`);
  if (info.size < offset + 24) {
    throw new ModelLoadError(
      `Cannot load model "${path}": file is too small to be a GGUF (${info.size} bytes)`,
    );
  }
  using file = Deno.openSync(path, { read: true });
  file.seekSync(offset, Deno.SeekMode.Start);
  const head = new Uint8Array(4);
  let got = 0;
  while (got < head.length) {
    const n = file.readSync(head.subarray(got));
    if (n === null) break;
    got += n;
  }
  const magic = got === 4 ? new DataView(head.buffer).getUint32(0, true) : -1;
  if (magic !== GGUF_MAGIC) {
    const shown = Array.from(
      head.subarray(0, got),
      (b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : "."),
    ).join("");
    throw new ModelLoadError(`Cannot load model "${path}": bad GGUF magic "${shown}"`);
  }
}

/**
 * Reads the metadata with our bounded reader and refuses what libllama would abort on; returns
 * the size of the data section (the weights).
 */
async function checkMetadata(path: string, offset: number): Promise<number> {
  let gguf;
  try {
    // Lazy strings: the vocabulary and merges are checked as bytes, not made strings.
    gguf = await readGguf(path, { offset, lazyStrings: true });
    checkModelMetadata(gguf);
    return gguf.dataSize;
  } catch (cause) {
    if (cause instanceof GgufError) {
      throw new ModelLoadError(`Cannot load model "${path}": ${cause.reason}`, { cause });
    }
    if (cause instanceof ModelCheckError) {
      throw new ModelLoadError(`Cannot load model "${path}": ${cause.message}`, { cause });
    }
    throw cause;
  }
}

/**
 * Weights this small (stories260K's are 1 MB) load, get a context and decode a prompt in about a
 * millisecond: those calls run on the JS thread. A `nonblocking` call hands its work to another
 * thread and back, which costs about 30 µs on an idle machine but several milliseconds each on
 * a busy one (stories260K's load: 4.7 ms against 0.95 ms, median of 20, at a load average of
 * 14 on 2 cores), and a short script's whole run is a handful of such calls.
 */
export const SMALL_MODEL_BYTES = 16 * 2 ** 20;

/**
 * Loads a GGUF model from `path` (optionally at a byte offset inside a bigger
 * file, read in place through `llama_model_load_from_file_ptr`).
 *
 * @example Load the test model and count its vocabulary
 * ```ts
 * import { loadModel } from "./model.ts";
 * const model = await loadModel("../shared/models/stories260K.gguf");
 * console.log(model.vocabSize); // 512
 * model.close();
 * ```
 */
export async function loadModel(path: string, options: LoadModelOptions = {}): Promise<LlamaModel> {
  const offset = options.offset ?? 0;
  checkFile(path, offset);
  const weightsBytes = (options.checkMetadata ?? true) ? await checkMetadata(path, offset) : null;
  options.signal?.throwIfAborted();
  const lib = openLibrary();
  const signal = options.signal;
  // A JS progress callback costs a thread hop per tensor: only install one when it is used.
  // Without it libllama's default prints progress dots to its log (dropped unless verbose).
  const progress = options.onProgress === undefined && signal === undefined
    ? null
    : new ProgressCallback((fraction) => {
      options.onProgress?.(fraction);
      return !(signal?.aborted ?? false);
    });
  const devices = options.devices;
  const offloading = devices !== undefined && devices.length > 0;
  let nGpuLayers: number | undefined;
  if (devices !== undefined && devices.length === 0) nGpuLayers = 0;
  else if (options.gpuLayers !== undefined) {
    nGpuLayers = await resolveGpuLayers(path, offset, options.gpuLayers, devices ?? []);
  }
  const params = modelParams(lib, {
    ...(nGpuLayers !== undefined && { nGpuLayers }),
    // libllama's simulated load maps nothing (it asserts that mmap is off).
    mmap: options.noAlloc ? false : options.mmap ?? LOAD_DEFAULTS.mmap,
    mlock: options.noAlloc ? false : options.mlock ?? LOAD_DEFAULTS.mlock,
    repack: options.repack ?? LOAD_DEFAULTS.repack,
    ...(options.vocabOnly !== undefined && { vocabOnly: options.vocabOnly }),
    ...(options.noAlloc !== undefined && { noAlloc: options.noAlloc }),
    ...(progress !== null && { progressCallback: progress.pointer }),
    ...(devices !== undefined && { devices: devices.map((device) => device.handle) }),
    ...(options.splitMode !== undefined && { splitMode: SPLIT_MODES[options.splitMode] }),
    ...(options.mainGpu !== undefined && { mainGpu: options.mainGpu }),
    ...(options.tensorSplit !== undefined && { tensorSplit: options.tensorSplit }),
    ...(options.overrides !== undefined &&
      { overrides: tensorOverrides(lib, options.overrides) }),
  });
  // Offloading: hear from libllama's log where each layer goes (it has no function that tells).
  const placement = offloading ? new PlacementCollector() : null;
  // A small model loads on this thread (see SMALL_MODEL_BYTES), unless a JS callback must run.
  const here = progress === null && placement === null && weightsBytes !== null &&
    weightsBytes <= SMALL_MODEL_BYTES;
  const load = async (): Promise<Deno.PointerValue> => {
    const call = (): Promise<Deno.PointerValue> => {
      if (offset === 0) {
        return here
          ? Promise.resolve(lib.llama.llama_model_load_from_file_sync(cString(path), params.bytes))
          : lib.llama.llama_model_load_from_file(cString(path), params.bytes);
      }
      const file = CFile.open(lib, path, offset);
      if (here) {
        try {
          return Promise.resolve(
            lib.llama.llama_model_load_from_file_ptr_sync(file.handle, params.bytes),
          );
        } finally {
          file.close();
        }
      }
      return lib.llama.llama_model_load_from_file_ptr(file.handle, params.bytes).finally(() =>
        file.close()
      );
    };
    // `params` (and the buffers it points into) stays referenced by `call` until it settles.
    return placement === null ? await call() : await lib.captureLog(call, placement.listen);
  };
  let handle: Deno.PointerValue;
  let errors: string[] = [];
  const what =
    `Cannot load model "${path}": the model is corrupt or unsupported (libllama aborted)`;
  try {
    handle = await lib.during(what, load);
    if (handle === null && !signal?.aborted) {
      // The log goes nowhere by default (it is slow to route); load again to hear why it failed.
      const mark = lib.errorMark();
      handle = await lib.during(what, () => lib.captureLog(load));
      errors = lib.errorsSince(mark);
    }
  } finally {
    progress?.close();
  }
  if (handle === null) {
    signal?.throwIfAborted();
    const reason = reasonFromLog(errors, "libllama could not load it");
    throw new ModelLoadError(`Cannot load model "${path}": ${reason}`);
  }
  return new LlamaModel(lib, handle, path, placement?.result() ?? null);
}

/** Options for {@linkcode LlamaModel.tokenize}. */
export interface TokenizeOptions {
  /** Add BOS/EOS as the model is configured to (default true). */
  addSpecial?: boolean;
  /** Turn special-token text such as `<|im_start|>` into special tokens (default false). */
  parseSpecial?: boolean;
}

const registry = new FinalizationRegistry<{ lib: LlamaLibrary; handle: Deno.PointerObject }>(
  (held) => {
    held.lib.llama.llama_model_free(held.handle);
  },
);

/** A loaded model. Close it when done; contexts made from it must be closed first. */
export class LlamaModel {
  readonly #lib: LlamaLibrary;
  #handle: Deno.PointerValue;
  readonly #vocab: Deno.PointerValue;
  readonly #token: object = {};
  #pieceBuffer = new Uint8Array(64);
  /** The file the model was loaded from. */
  readonly path: string;
  /** Number of tokens in the vocabulary. */
  readonly vocabSize: number;
  /** Beginning-of-sequence token, or -1. */
  readonly bos: number;
  /** End-of-sequence token, or -1. */
  readonly eos: number;
  /** Which device each layer went to, when it was loaded onto GPU devices; else `null`. */
  readonly placement: LayerPlacement | null;
  /**
   * Weights of at most {@linkcode SMALL_MODEL_BYTES}, on the CPU: its context is created and
   * its batches decoded on the JS thread.
   */
  readonly small: boolean;

  /** @internal Use {@linkcode loadModel}. */
  constructor(
    lib: LlamaLibrary,
    handle: Deno.PointerObject,
    path: string,
    placement: LayerPlacement | null = null,
  ) {
    this.#lib = lib;
    this.#handle = handle;
    this.path = path;
    this.placement = placement;
    this.#vocab = lib.llama.llama_model_get_vocab(handle);
    this.vocabSize = lib.llama.llama_vocab_n_tokens(this.#vocab);
    this.bos = lib.llama.llama_vocab_bos(this.#vocab);
    this.eos = lib.llama.llama_vocab_eos(this.#vocab);
    this.small = placement === null &&
      Number(lib.llama.llama_model_size(handle)) <= SMALL_MODEL_BYTES;
    registry.register(this, { lib, handle }, this.#token);
  }

  /** @internal The native handle, for contexts. */
  get handle(): Deno.PointerObject {
    if (this.#handle === null || this.#closeWhenIdle) {
      throw new ClosedError("Cannot use the model: it is closed");
    }
    return this.#handle;
  }

  /** @internal The native vocabulary handle. */
  get vocab(): Deno.PointerObject {
    this.handle;
    return this.#vocab as Deno.PointerObject;
  }

  /** @internal The library this model was loaded with. */
  get library(): LlamaLibrary {
    return this.#lib;
  }

  /** True once {@linkcode close} has run. */
  get closed(): boolean {
    return this.#handle === null || this.#closeWhenIdle;
  }

  /** The context length the model was trained with. */
  get trainedContext(): number {
    return this.#lib.llama.llama_model_n_ctx_train(this.handle);
  }

  /** Embedding width. */
  get embeddingSize(): number {
    return this.#lib.llama.llama_model_n_embd(this.handle);
  }

  /** Number of layers. */
  get layerCount(): number {
    return this.#lib.llama.llama_model_n_layer(this.handle);
  }

  /**
   * Bytes the KV cache needs per token of context: K and V (F16) for every layer. An upper
   * bound for models whose layers share or skip the cache.
   */
  get kvBytesPerToken(): number {
    const ll = this.#lib.llama;
    const head = Math.max(1, ll.llama_model_n_head(this.handle));
    const headKv = Math.max(1, ll.llama_model_n_head_kv(this.handle));
    const embdHead = Math.ceil(this.embeddingSize / head);
    return this.layerCount * 2 * headKv * embdHead * 2;
  }

  /** Number of parameters. */
  get parameterCount(): number {
    return Number(this.#lib.llama.llama_model_n_params(this.handle));
  }

  /** Size of the weights in bytes. */
  get sizeBytes(): number {
    return Number(this.#lib.llama.llama_model_size(this.handle));
  }

  /** libllama's one-line description, e.g. `llama ?B all F32`. */
  get description(): string {
    const buffer = new Uint8Array(256);
    const n = this.#lib.llama.llama_model_desc(this.handle, buffer, BigInt(buffer.length));
    return decodeBytes(buffer, Math.max(0, Math.min(n, buffer.length - 1)));
  }

  /** True when the model has an encoder (T5-like). */
  get hasEncoder(): boolean {
    return this.#lib.llama.llama_model_has_encoder(this.handle);
  }

  /** A metadata value as text, or `null` when absent. */
  meta(key: string): string | null {
    let buffer = new Uint8Array(256);
    const keyBytes = cString(key);
    let n = this.#lib.llama.llama_model_meta_val_str(
      this.handle,
      keyBytes,
      buffer,
      BigInt(buffer.length),
    );
    if (n < 0) return null;
    if (n >= buffer.length) {
      buffer = new Uint8Array(n + 1);
      n = this.#lib.llama.llama_model_meta_val_str(
        this.handle,
        keyBytes,
        buffer,
        BigInt(buffer.length),
      );
    }
    return decodeBytes(buffer, n);
  }

  /** libllama's built-in chat templates (`llama_chat_apply_template`), by name. */
  get nativeChatTemplates(): NativeChatTemplates {
    const lib = this.#lib;
    return {
      names: builtinChatTemplateNames(lib),
      render: (name, messages, add) => applyBuiltinChatTemplate(lib, name, messages, add),
    };
  }

  /** The model's chat template (`tokenizer.chat_template`), or `null`. */
  get chatTemplate(): string | null {
    return readCString(this.#lib.llama.llama_model_chat_template(this.handle, null));
  }

  /** Whether the vocabulary wants a BOS token at the start of a prompt. */
  get addsBos(): boolean {
    return this.#lib.llama.llama_vocab_get_add_bos(this.vocab);
  }

  /** Whether the vocabulary wants an EOS token at the end of an input (BERT-style models). */
  get addsEos(): boolean {
    return this.#lib.llama.llama_vocab_get_add_eos(this.vocab);
  }

  /** Whether the vocabulary wants a separator between two inputs (a reranker's query and document). */
  get addsSep(): boolean {
    return this.#lib.llama.llama_vocab_get_add_sep(this.vocab);
  }

  /** The model's chat template of that name (`rerank`, `tool_use`), or `null`. */
  namedChatTemplate(name: string): string | null {
    return readCString(this.#lib.llama.llama_model_chat_template(this.handle, cString(name)));
  }

  /** The separator token (BERT's `[SEP]`), or -1. */
  get sep(): number {
    return this.#lib.llama.llama_vocab_sep(this.vocab);
  }

  /**
   * The fill-in-the-middle tokens (-1 where the vocabulary has none): prefix, suffix, middle,
   * padding, repository and file separator.
   */
  get fim(): { pre: number; suf: number; mid: number; pad: number; rep: number; sep: number } {
    const ll = this.#lib.llama;
    const v = this.vocab;
    return {
      pre: ll.llama_vocab_fim_pre(v),
      suf: ll.llama_vocab_fim_suf(v),
      mid: ll.llama_vocab_fim_mid(v),
      pad: ll.llama_vocab_fim_pad(v),
      rep: ll.llama_vocab_fim_rep(v),
      sep: ll.llama_vocab_fim_sep(v),
    };
  }

  /** Outputs of the model's classification head (a reranker's score count; 0 without one). */
  get classifierOutputs(): number {
    return this.#lib.llama.llama_model_n_cls_out(this.handle);
  }

  /** True for end-of-generation tokens (EOS, EOT, ...). */
  isEndOfGeneration(token: number): boolean {
    return this.#lib.llama.llama_vocab_is_eog(this.vocab, token);
  }

  /** The vocabulary's text for `token`. */
  tokenText(token: number): string {
    this.#checkToken(token);
    return readCString(this.#lib.llama.llama_vocab_get_text(this.vocab, token)) ?? "";
  }

  /** Turns text into tokens. */
  tokenize(text: string, options: TokenizeOptions = {}): Int32Array<ArrayBuffer> {
    const bytes = new TextEncoder().encode(text);
    const addSpecial = options.addSpecial ?? true;
    const parseSpecial = options.parseSpecial ?? false;
    let tokens = new Int32Array(bytes.length + 8);
    let n = this.#lib.llama.llama_tokenize(
      this.vocab,
      bytes,
      bytes.length,
      new Uint8Array(tokens.buffer),
      tokens.length,
      addSpecial,
      parseSpecial,
    );
    if (n < 0) {
      if (n === -2147483648) throw new RangeError("Cannot tokenize: the text is too long");
      tokens = new Int32Array(-n);
      n = this.#lib.llama.llama_tokenize(
        this.vocab,
        bytes,
        bytes.length,
        new Uint8Array(tokens.buffer),
        tokens.length,
        addSpecial,
        parseSpecial,
      );
    }
    return tokens.slice(0, n);
  }

  /** Tokenizations running off the JS thread; the weights are freed after the last one. */
  #inFlight = 0;
  #closeWhenIdle = false;

  /**
   * {@linkcode tokenize} off the JS thread: for long texts (megabytes take seconds), so that
   * the event loop keeps serving meanwhile. Closing the model waits for it.
   */
  async tokenizeAsync(
    text: string,
    options: TokenizeOptions = {},
  ): Promise<Int32Array<ArrayBuffer>> {
    const bytes = new TextEncoder().encode(text);
    const addSpecial = options.addSpecial ?? true;
    const parseSpecial = options.parseSpecial ?? false;
    const vocab = this.vocab;
    const call = (tokens: Int32Array<ArrayBuffer>) =>
      this.#lib.llama.llama_tokenize_nonblocking(
        vocab,
        bytes,
        bytes.length,
        new Uint8Array(tokens.buffer),
        tokens.length,
        addSpecial,
        parseSpecial,
      );
    this.#inFlight++;
    try {
      let tokens = new Int32Array(bytes.length + 8);
      let n = await call(tokens);
      if (n < 0) {
        if (n === -2147483648) throw new RangeError("Cannot tokenize: the text is too long");
        tokens = new Int32Array(-n);
        n = await call(tokens);
      }
      return tokens.slice(0, n);
    } finally {
      if (--this.#inFlight === 0 && this.#closeWhenIdle) this.#free();
    }
  }

  #maxTokenBytes = -1;

  /**
   * The longest text any one token stands for, in bytes (special tokens included): a text of
   * `n` bytes is at least `n / maxTokenBytes` tokens long, known without tokenizing it.
   */
  get maxTokenBytes(): number {
    if (this.#maxTokenBytes < 0) {
      let max = 1;
      for (let t = 0; t < this.vocabSize; t++) max = Math.max(max, this.tokenBytes(t, true).length);
      this.#maxTokenBytes = max;
    }
    return this.#maxTokenBytes;
  }

  /** The bytes of one token's piece (may be part of a UTF-8 character). */
  tokenBytes(token: number, special = false): Uint8Array {
    this.#checkToken(token);
    let n = this.#lib.llama.llama_token_to_piece(
      this.vocab,
      token,
      this.#pieceBuffer,
      this.#pieceBuffer.length,
      0,
      special,
    );
    if (n < 0) {
      this.#pieceBuffer = new Uint8Array(-n * 2);
      n = this.#lib.llama.llama_token_to_piece(
        this.vocab,
        token,
        this.#pieceBuffer,
        this.#pieceBuffer.length,
        0,
        special,
      );
    }
    return this.#pieceBuffer.slice(0, n);
  }

  /** Turns tokens back into text. */
  detokenize(
    tokens: ArrayLike<number>,
    options: { removeSpecial?: boolean; unparseSpecial?: boolean } = {},
  ): string {
    const input = Int32Array.from(tokens);
    for (const token of input) this.#checkToken(token);
    let buffer = new Uint8Array(input.length * 8 + 16);
    const args = [options.removeSpecial ?? false, options.unparseSpecial ?? false] as const;
    let n = this.#lib.llama.llama_detokenize(
      this.vocab,
      new Uint8Array(input.buffer),
      input.length,
      buffer,
      buffer.length,
      ...args,
    );
    if (n < 0) {
      buffer = new Uint8Array(-n);
      n = this.#lib.llama.llama_detokenize(
        this.vocab,
        new Uint8Array(input.buffer),
        input.length,
        buffer,
        buffer.length,
        ...args,
      );
    }
    return decodeBytes(buffer, n);
  }

  #checkToken(token: number): void {
    if (!Number.isInteger(token) || token < 0 || token >= this.vocabSize) {
      throw new RangeError(`Token ${token} is outside the vocabulary (0..${this.vocabSize - 1})`);
    }
  }

  /** Frees the weights; safe to call twice. */
  close(): void {
    if (this.closed) return;
    if (this.#inFlight > 0) {
      // A tokenization still reads the vocabulary on another thread: free after it.
      this.#closeWhenIdle = true;
      return;
    }
    this.#free();
  }

  #free(): void {
    if (this.#handle === null) return;
    registry.unregister(this.#token);
    this.#lib.llama.llama_model_free(this.#handle);
    this.#handle = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
