/**
 * Native callbacks we hand to libllama.
 *
 * @module
 */

/** A model-load progress callback; returning false from `onProgress` aborts the load. */
export class ProgressCallback {
  #callback:
    | Deno.UnsafeCallback<
      { readonly parameters: readonly ["f32", "pointer"]; readonly result: "bool" }
    >
    | null;

  constructor(onProgress: (fraction: number) => boolean) {
    this.#callback = new Deno.UnsafeCallback(
      { parameters: ["f32", "pointer"], result: "bool" } as const,
      (fraction) => onProgress(fraction),
    );
  }

  /** The function pointer. */
  get pointer(): Deno.PointerValue {
    return this.#callback?.pointer ?? null;
  }

  /** Releases the callback; safe to call twice. Only after the load has settled. */
  close(): void {
    this.#callback?.close();
    this.#callback = null;
  }
}
