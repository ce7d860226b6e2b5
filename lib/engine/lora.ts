/**
 * LoRA adapters of a model, loaded from their files when the server starts (before the
 * sandbox forbids opening files), owned here and freed once.
 *
 * @module
 */
import { freeLoraAdapter, loadLoraAdapter } from "../../ffi/lora.ts";
import type { LlamaContext } from "./context.ts";
import { ModelLoadError } from "./errors.ts";
import { GgufError, readGguf } from "./gguf_reader.ts";
import type { LlamaModel } from "./model.ts";
import { checkLoraMetadata, ModelCheckError } from "./model_check.ts";

/** One loaded adapter. */
export interface LoraAdapter {
  /** Its index (`id` in llama.cpp's `/lora-adapters`). */
  id: number;
  path: string;
  /** The scale it starts with (`--lora` 1, `--lora-scaled` its own, 0 with `--lora-init-without-apply`). */
  scale: number;
  /** `adapter.lora.task_name` and `adapter.lora.prompt_prefix` metadata, when present. */
  taskName: string;
  promptPrefix: string;
}

/** The adapters of one model. Close before the model. */
export class LoraAdapters {
  readonly model: LlamaModel;
  readonly list: readonly LoraAdapter[];
  #handles: Deno.PointerObject[];

  private constructor(model: LlamaModel, list: LoraAdapter[], handles: Deno.PointerObject[]) {
    this.model = model;
    this.list = list;
    this.#handles = handles;
  }

  /**
   * Loads `specs` for `model`, in order, each at its scale (0 with `initWithoutApply`,
   * llama.cpp's `--lora-init-without-apply`).
   *
   * @throws {ModelLoadError} When a file is missing or is no LoRA adapter of this model.
   */
  static async load(
    model: LlamaModel,
    specs: readonly { path: string; scale: number }[],
    options: { initWithoutApply?: boolean } = {},
  ): Promise<LoraAdapters> {
    const list: LoraAdapter[] = [];
    const handles: Deno.PointerObject[] = [];
    const lib = model.library;
    try {
      for (const spec of specs) {
        let size: number;
        try {
          const info = Deno.statSync(spec.path);
          if (!info.isFile) throw new Error("not a regular file");
          size = info.size;
        } catch (cause) {
          throw new ModelLoadError(
            `Cannot load LoRA adapter "${spec.path}": ${(cause as Error).message}`,
            { cause },
          );
        }
        if (size > 0) await checkAdapter(spec.path);
        const handle = size > 0 ? loadLoraAdapter(lib, model.handle, spec.path) : null;
        if (handle === null) {
          throw new ModelLoadError(
            `Cannot load LoRA adapter "${spec.path}": libllama refused it (not a LoRA GGUF of this model)`,
          );
        }
        handles.push(handle);
        list.push({
          id: list.length,
          path: spec.path,
          scale: options.initWithoutApply ? 0 : spec.scale,
          taskName: "",
          promptPrefix: "",
        });
      }
    } catch (error) {
      for (const h of handles) freeLoraAdapter(lib, h);
      throw error;
    }
    return new LoraAdapters(model, list, handles);
  }

  /** No adapters. */
  static none(model: LlamaModel): LoraAdapters {
    return new LoraAdapters(model, [], []);
  }

  /** The native handles, in id order. */
  get handles(): readonly Deno.PointerObject[] {
    return this.#handles;
  }

  /** Applies every adapter to `context` at the scale it starts with. */
  applyTo(context: LlamaContext): void {
    if (this.#handles.length === 0) return;
    context.setLora(this.#handles, this.list.map((a) => a.scale));
  }

  /** Frees the adapters; safe to call twice. */
  close(): void {
    for (const h of this.#handles) freeLoraAdapter(this.model.library, h);
    this.#handles = [];
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Our GGUF reader and check over the adapter before libllama reads it (see `model_check.ts`). */
async function checkAdapter(path: string): Promise<void> {
  try {
    checkLoraMetadata(await readGguf(path, { lazyStrings: true }));
  } catch (cause) {
    if (cause instanceof GgufError) {
      throw new ModelLoadError(`Cannot load LoRA adapter "${path}": ${cause.reason}`, { cause });
    }
    if (cause instanceof ModelCheckError) {
      throw new ModelLoadError(`Cannot load LoRA adapter "${path}": ${cause.message}`, { cause });
    }
    throw cause;
  }
}
