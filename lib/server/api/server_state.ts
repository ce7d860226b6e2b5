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
import type { LlamaModel } from "../../engine/model.ts";
import type { Projector } from "../../engine/projector.ts";
import { SlotScheduler } from "../../engine/slots.ts";
import { ApiError, RETRY_AFTER_SECONDS } from "./errors.ts";
import type { GenerationDefaults } from "./generation_params.ts";

/** The loaded model and everything built on it. */
export interface Engine {
  model: LlamaModel;
  /** The multimodal projector (`--mmproj`), or null: requests with images are then refused. */
  projector: Projector | null;
  scheduler: SlotScheduler;
  template: ChatTemplate;
  embedder: Embedder;
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
  /** Receives warning lines. */
  warn?: (line: string) => void;
  /** The projector loaded for `model` (its owner closes it, after the engine). */
  projector?: Projector | null;
}

/** Builds the engine on `model`. */
export async function createEngine(model: LlamaModel, options: EngineOptions): Promise<Engine> {
  const template = await resolveChatTemplate(options.chatTemplate, model.chatTemplate, {
    ...(options.warn && { warn: options.warn }),
  });
  const context = await createContext(model, {
    ...(options.contextSize !== undefined && { contextSize: options.contextSize }),
    sequences: options.parallel,
    ...(options.batchSize !== undefined && { batchSize: options.batchSize }),
    ...(options.ubatchSize !== undefined && { ubatchSize: options.ubatchSize }),
    ...(options.threads !== undefined && { threads: options.threads }),
    ...(options.threadsBatch !== undefined && { threadsBatch: options.threadsBatch }),
    ...(options.poll !== undefined && { poll: options.poll }),
    ...(options.flashAttention !== undefined && { flashAttention: options.flashAttention }),
    ...(options.offloadKqv !== undefined && { offloadKqv: options.offloadKqv }),
  });
  const scheduler = new SlotScheduler(context, { queueLimit: options.queueLimit ?? 64 });
  const embedder = new Embedder(model, {
    ...(options.threads !== undefined && { threads: options.threads }),
    ...(options.poll !== undefined && { poll: options.poll }),
  });
  try {
    if (options.eagerEmbeddings) await embedder.open();
  } catch (error) {
    await scheduler.close();
    await context.close();
    throw error;
  }
  return { model, projector: options.projector ?? null, scheduler, template, embedder };
}

/** Stops the scheduler and frees the contexts (not the model). */
export async function closeEngine(engine: Engine): Promise<void> {
  await engine.scheduler.close();
  await engine.embedder.close();
  await engine.scheduler.context.close();
}

/** Settings the endpoints need besides the engine. */
export interface ServerConfig {
  /** Name reported by `/v1/models` (`--alias`, or the model's file name). */
  modelName: string;
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
