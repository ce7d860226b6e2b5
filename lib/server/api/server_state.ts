/**
 * What the endpoints run on once the model is loaded: the slot scheduler over one
 * context, the chat template, the embedder; and the server state around it
 * (loading → ready, or failed; stopping).
 *
 * @module
 */
import { type ChatTemplate, resolveChatTemplate } from "../../engine/chat_template.ts";
import { createContext } from "../../engine/context.ts";
import { Embedder } from "../../engine/embedder.ts";
import { LoraAdapters } from "../../engine/lora.ts";
import type { LlamaModel } from "../../engine/model.ts";
import { SlotScheduler } from "../../engine/slots.ts";
import { ApiError, RETRY_AFTER_SECONDS } from "./errors.ts";
import type { GenerationDefaults } from "./generation_params.ts";
import type { SlotFiles } from "./slot_files.ts";

/** The loaded model and everything built on it. */
export interface Engine {
  model: LlamaModel;
  scheduler: SlotScheduler;
  template: ChatTemplate;
  embedder: Embedder;
  /** The LoRA adapters given at start (`--lora`), possibly none. */
  lora: LoraAdapters;
  /** `--embedding` or `--reranking`: the server computes embeddings (or scores) only. */
  embeddingsOnly: boolean;
  /** `--reranking`: `/rerank` is served. */
  reranking: boolean;
}

/** Options of {@linkcode createEngine}. */
export interface EngineOptions {
  /**
   * Total context in tokens, shared by the slots (llama.cpp's `-c`); default 4096, or the
   * model's trained context when that is smaller.
   */
  contextSize?: number;
  /** Slots (`-np`). */
  parallel: number;
  batchSize?: number;
  ubatchSize?: number;
  threads?: number;
  threadsBatch?: number;
  poll?: number;
  /** Flash attention on or off (absent: libllama's auto). */
  flashAttention?: boolean;
  /** Keep the KV cache on the GPU the layers went to (default true). */
  offloadKqv?: boolean;
  /** `--chat-template`: a built-in name, inline Jinja or a file. */
  chatTemplate?: string;
  /** Create the embedding context now instead of on the first request. */
  eagerEmbeddings?: boolean;
  /** Requests that may wait for a slot. */
  queueLimit?: number;
  /**
   * Slots share one KV cache, each able to fill the whole context (llama.cpp's `--kv-unified`;
   * default: on when `parallel` was not given).
   */
  kvUnified?: boolean;
  /** Tokens one slot may use at most (`--kv-unified-per-slot`, 0 = no cap). */
  perSlotLimit?: number;
  /** Shift a full slot's context instead of stopping (`--context-shift`). */
  contextShift?: boolean;
  /** KV cache types (ggml type ids). */
  cacheTypeK?: number;
  cacheTypeV?: number;
  swaFull?: boolean;
  /** RoPE and YaRN overrides. */
  rope?: import("../../engine/context.ts").ContextOptions["rope"];
  /** Embedding pooling (`enum llama_pooling_type`); `reranking` implies rank. */
  pooling?: number;
  /** Embedding normalization (`--embd-normalize`). */
  embdNormalize?: number;
  /** Serve embeddings only (`--embedding`). */
  embeddingsOnly?: boolean;
  /** Serve `/rerank` (`--reranking`): pooling rank, embeddings only. */
  reranking?: boolean;
  /** LoRA adapters to load with their starting scales. */
  lora?: readonly { path: string; scale: number }[];
  /** Load the adapters at scale 0 (`--lora-init-without-apply`). */
  loraInitWithoutApply?: boolean;
  /** Receives warning lines. */
  warn?: (line: string) => void;
}

/** Builds the engine on `model`. */
export async function createEngine(model: LlamaModel, options: EngineOptions): Promise<Engine> {
  const template = await resolveChatTemplate(options.chatTemplate, model.chatTemplate, {
    ...(options.warn && { warn: options.warn }),
  });
  // llama.cpp's -np -1 (auto): 4 slots sharing one KV cache.
  const auto = options.parallel < 1;
  const parallel = auto ? 4 : options.parallel;
  const lora = options.lora === undefined || options.lora.length === 0
    ? LoraAdapters.none(model)
    : LoraAdapters.load(
      model,
      options.lora.map((l) => ({
        path: l.path,
        scale: options.loraInitWithoutApply ? 0 : l.scale,
      })),
    );
  let context;
  try {
    context = await createContext(model, {
      ...(options.contextSize !== undefined && { contextSize: options.contextSize }),
      sequences: parallel,
      ...(options.batchSize !== undefined && { batchSize: options.batchSize }),
      ...(options.ubatchSize !== undefined && { ubatchSize: options.ubatchSize }),
      ...(options.threads !== undefined && { threads: options.threads }),
      ...(options.threadsBatch !== undefined && { threadsBatch: options.threadsBatch }),
      ...(options.poll !== undefined && { poll: options.poll }),
      ...(options.kvUnified === false && { kvUnified: false }),
      ...(options.flashAttention !== undefined && { flashAttention: options.flashAttention }),
      ...(options.offloadKqv !== undefined && { offloadKqv: options.offloadKqv }),
      ...(options.cacheTypeK !== undefined && { typeK: options.cacheTypeK }),
      ...(options.cacheTypeV !== undefined && { typeV: options.cacheTypeV }),
      ...(options.swaFull !== undefined && { swaFull: options.swaFull }),
      ...(options.rope !== undefined && { rope: options.rope }),
    });
  } catch (error) {
    lora.close();
    throw error;
  }
  const scheduler = new SlotScheduler(context, {
    queueLimit: options.queueLimit ?? 64,
    unified: options.kvUnified ?? auto,
    ...(options.perSlotLimit !== undefined && { perSlotLimit: options.perSlotLimit }),
    contextShift: options.contextShift ?? false,
    lora,
  });
  const reranking = options.reranking ?? false;
  const pooling = reranking ? 4 : options.pooling;
  const embedder = new Embedder(model, {
    ...(options.contextSize !== undefined && options.contextSize > 0 &&
      { contextSize: options.contextSize }),
    ...(options.ubatchSize !== undefined && { ubatchSize: options.ubatchSize }),
    ...(options.threads !== undefined && { threads: options.threads }),
    ...(options.poll !== undefined && { poll: options.poll }),
    ...(pooling !== undefined && { pooling }),
    ...(options.embdNormalize !== undefined && { normalize: options.embdNormalize }),
    ...(options.flashAttention !== undefined && { flashAttention: options.flashAttention }),
  });
  try {
    if (options.eagerEmbeddings || options.embeddingsOnly || reranking) await embedder.open();
  } catch (error) {
    await scheduler.close();
    await context.close();
    lora.close();
    throw error;
  }
  return {
    model,
    scheduler,
    template,
    embedder,
    lora,
    embeddingsOnly: (options.embeddingsOnly ?? false) || reranking,
    reranking,
  };
}

/** Stops the scheduler and frees the contexts (not the model). */
export async function closeEngine(engine: Engine): Promise<void> {
  await engine.scheduler.close();
  await engine.embedder.close();
  await engine.scheduler.context.close();
  engine.lora.close();
}

/** Settings the endpoints need besides the engine. */
export interface ServerConfig {
  /** Name reported by `/v1/models` (the first `--alias` in order, or the model's file name). */
  modelName: string;
  /** Every `--alias` (sorted, as llama.cpp keeps them). */
  aliases?: string[];
  /** `--tags`. */
  tags?: string[];
  /** Where `POST /slots/ID?action=save|restore` files go (`--slot-save-path`), or none. */
  slotFiles?: SlotFiles | null;
  /** `/infill` in suffix-prefix-middle order (`--spm-infill`). */
  spmInfill?: boolean;
  /** Continue a trailing assistant message (`--prefill-assistant`, default on). */
  prefillAssistant?: boolean;
  /** Sampling and length defaults from the command line. */
  defaults: GenerationDefaults;
  /** Unix time (seconds) the server started. */
  startedAt: number;
}

/** Where the server is in its life. */
export type ServerStatus = "loading" | "ready" | "failed" | "stopping";

/** The server's state, shared by all endpoints. */
export class ServerState {
  readonly config: ServerConfig;
  #status: ServerStatus = "loading";
  #engine: Engine | null = null;

  constructor(config: ServerConfig) {
    this.config = config;
  }

  get status(): ServerStatus {
    return this.#status;
  }

  /** The engine when ready, else `null`. */
  get current(): Engine | null {
    return this.#status === "ready" ? this.#engine : null;
  }

  /** Marks the model loaded. */
  ready(engine: Engine): void {
    this.#engine = engine;
    this.#status = "ready";
  }

  /** Marks the load failed. */
  fail(): void {
    this.#status = "failed";
  }

  /** Refuses new work from now on. */
  stop(): void {
    this.#status = "stopping";
  }

  /** The engine, or a 503 while loading, after a failed load, or while stopping. */
  engine(): Engine {
    if (this.#status === "ready" && this.#engine) return this.#engine;
    const message = this.#status === "loading"
      ? "Loading model"
      : this.#status === "stopping"
      ? "The server is shutting down"
      : "The model failed to load";
    throw new ApiError("unavailable_error", message, {
      headers: { "Retry-After": String(RETRY_AFTER_SECONDS) },
    });
  }
}
