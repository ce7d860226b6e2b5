/**
 * What the endpoints run on once the model is loaded: the slot scheduler over one
 * context, the chat template, the embedder; and the server state around it
 * (loading → ready, or failed; stopping).
 *
 * @module
 */
import type { ChatOptions } from "./chat_turn.ts";
import { type ChatTemplate, resolveChatTemplate } from "../../engine/chat_template.ts";
import { createContext } from "../../engine/context.ts";
import { Embedder } from "../../engine/embedder.ts";
import { LoraAdapters } from "../../engine/lora.ts";
import type { LlamaModel } from "../../engine/model.ts";
import type { Projector } from "../../engine/projector.ts";
import { SlotScheduler } from "../../engine/slots.ts";
import { ApiError, RETRY_AFTER_SECONDS } from "./errors.ts";
import type { GenerationDefaults } from "./generation_params.ts";
import type { SlotFiles } from "./slot_files.ts";

/** The loaded model and everything built on it. */
export interface Engine {
  model: LlamaModel;
  /** The multimodal projector (`--mmproj`), or null: requests with images are then refused. */
  projector: Projector | null;
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
  /** Adapters already loaded (an engine rebuilt after sleeping keeps its own). */
  loraAdapters?: LoraAdapters;
  /** Load the adapters at scale 0 (`--lora-init-without-apply`). */
  loraInitWithoutApply?: boolean;
  /** Receives warning lines. */
  warn?: (line: string) => void;
  /** The projector loaded for `model` (its owner closes it, after the engine). */
  projector?: Projector | null;
}

/** Builds the engine on `model`. */
export async function createEngine(model: LlamaModel, options: EngineOptions): Promise<Engine> {
  const template = await resolveChatTemplate(options.chatTemplate, model.chatTemplate, {
    ...(options.warn && { warn: options.warn }),
    native: model.nativeChatTemplates,
  });
  // llama.cpp's -np -1 (auto): 4 slots sharing one KV cache.
  const auto = options.parallel < 1;
  const parallel = auto ? 4 : options.parallel;
  const lora = options.loraAdapters !== undefined
    ? options.loraAdapters
    : options.lora === undefined || options.lora.length === 0
    ? LoraAdapters.none(model)
    : await LoraAdapters.load(model, options.lora, {
      initWithoutApply: options.loraInitWithoutApply,
    });
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
      // As llama-server: one KV buffer for all slots with -np auto or --kv-unified, else a stream
      // per slot (attention then runs over the slot's own cells, not every slot's).
      kvUnified: options.kvUnified ?? auto,
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
    projector: options.projector ?? null,
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
  await freeContexts(engine);
  engine.lora.close();
}

/** Stops the scheduler and frees the contexts, keeping the LoRA adapters (a sleeping engine). */
export async function freeContexts(engine: Engine): Promise<void> {
  await engine.scheduler.close();
  await engine.embedder.close();
  await engine.scheduler.context.close();
}

/**
 * `--sleep-idle-seconds`: after that long without a request the engine's contexts (KV cache,
 * compute buffers) are freed; the next request rebuilds them (the weights stay mapped: the
 * sandbox forbids opening the model file again, and rebuilding a context opens no file).
 */
export class IdleSleeper {
  readonly #state: ServerState;
  readonly #ms: number;
  readonly #rebuild: (asleep: Engine) => Promise<Engine>;
  readonly #log: (line: string) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #waking: Promise<void> | null = null;
  #active = 0;
  #closed = false;

  constructor(
    state: ServerState,
    seconds: number,
    rebuild: (asleep: Engine) => Promise<Engine>,
    log: (line: string) => void,
  ) {
    this.#state = state;
    this.#ms = seconds * 1000;
    this.#rebuild = rebuild;
    this.#log = log;
    this.#arm();
  }

  #arm(): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    this.#timer = setTimeout(() => this.#sleep(), this.#ms);
  }

  async #sleep(): Promise<void> {
    const engine = this.#state.current;
    if (this.#active > 0 || engine === null || this.#state.sleeping) return;
    const stats = engine.scheduler.stats();
    if (stats.busy > 0 || stats.queued > 0) return this.#arm();
    this.#state.asleep(true);
    await freeContexts(engine);
    this.#log(`llamafile: idle for ${this.#ms / 1000} s: contexts freed until the next request`);
  }

  /** Called as a request starts: wakes the engine first when it sleeps. */
  async enter(): Promise<void> {
    this.#active++;
    clearTimeout(this.#timer);
    if (!this.#state.sleeping) return;
    this.#waking ??= (async () => {
      const asleep = this.#state.current!;
      const engine = await this.#rebuild(asleep);
      this.#state.ready(engine);
      this.#log("llamafile: woken by a request: contexts rebuilt");
    })().finally(() => (this.#waking = null));
    await this.#waking;
  }

  /** Called as a request ends. */
  leave(): void {
    this.#active = Math.max(0, this.#active - 1);
    if (this.#active === 0) this.#arm();
  }

  /** Stops the timer; safe to call twice. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }
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
  /** Reasoning settings of the chat formats (default llama.cpp's). */
  chat?: ChatOptions;
}

/** Where the server is in its life. */
export type ServerStatus = "loading" | "ready" | "failed" | "stopping";

/** The server's state, shared by all endpoints. */
export class ServerState {
  readonly config: ServerConfig;
  #status: ServerStatus = "loading";
  #engine: Engine | null = null;
  #sleeping = false;
  /** `--sleep-idle-seconds`'s sleeper, when the server has one. */
  sleeper: IdleSleeper | null = null;

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
    this.#sleeping = false;
  }

  /** The engine last made ready, whatever the status (to free it at shutdown). */
  get lastEngine(): Engine | null {
    return this.#engine;
  }

  /** True while the contexts are freed (`--sleep-idle-seconds`); the next request wakes them. */
  get sleeping(): boolean {
    return this.#sleeping;
  }

  /** Marks the engine asleep (its contexts freed) or awake. */
  asleep(value: boolean): void {
    this.#sleeping = value;
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
