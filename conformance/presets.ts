/**
 * The Hugging Face models llama.cpp's server tests name (`--hf-repo`, `--hf-file`, download
 * URLs), and what stands for each here: a local model of `../shared/models`, one derived from
 * it or written by our synthetic GGUF writer with the preset's architecture, or nothing (a
 * trained model that cannot be fetched or made here; the test is then counted apart).
 *
 * @module
 */

/** The models the conformance run prepares (`conformance/models.ts` makes them). */
export type ModelKey =
  /** `stories260K.gguf` itself (llama.cpp's CI uses the same file). */
  | "stories"
  /** stories260K with FIM token ids in its metadata. */
  | "stories-infill"
  /** stories260K as a split GGUF of three files. */
  | "stories-split"
  /** A random-weight BERT of bge-small's shape with the real BGE WordPiece vocab. */
  | "bert-embedding"
  /** A random-weight BERT reranker (classification head, pooling `rank`). */
  | "bert-reranker";

/** What a preset stands for here. */
export type PresetTarget =
  | { kind: "model"; key: ModelKey }
  | { kind: "unavailable"; reason: string };

const model = (key: ModelKey): PresetTarget => ({ kind: "model", key });
const unavailable = (reason: string): PresetTarget => ({ kind: "unavailable", reason });

/** `repo` or `repo/file` (a `:QUANT` tag dropped) → its stand-in. */
const PRESETS: Record<string, PresetTarget> = {
  "ggml-org/models/tinyllamas/stories260K.gguf": model("stories"),
  "ggml-org/test-model-stories260K": model("stories"),
  "ggml-org/test-model-stories260K-infill": model("stories-infill"),
  "ggml-org/models/tinyllamas/split/stories15M-q8_0-00001-of-00003.gguf": model("stories-split"),
  "ggml-org/models/bert-bge-small/ggml-model-f16.gguf": model("bert-embedding"),
  "ggml-org/models/jina-reranker-v1-tiny-en/ggml-model-f16.gguf": model("bert-reranker"),
  "ggml-org/stories15M_MOE/stories15M_MOE-F16.gguf": unavailable(
    "the trained stories15M MoE model (and its trained Shakespeare LoRA) cannot be fetched here",
  ),
  "ggml-org/tinygemma3-GGUF": unavailable(
    "the tinygemma3 text model is not among the shared models (only its projector is)",
  ),
};

/** Download URLs of the tests' `download_file()` and their stand-ins. */
const URLS: Record<string, PresetTarget> = {
  "https://huggingface.co/ggml-org/stories15M_MOE/resolve/main/moe_shakespeare15M.gguf":
    unavailable("the trained Shakespeare LoRA of stories15M MoE cannot be fetched here"),
};

/**
 * The stand-in of `--hf-repo REPO [--hf-file FILE]`: a known preset, or `unavailable` with the
 * reason (a real model of several GB, which no registry reachable here carries).
 */
export function presetTarget(repo: string, file?: string): PresetTarget {
  const bare = repo.replace(/:[^/]*$/, "");
  const key = file === undefined || file === "" ? bare : `${bare}/${file}`;
  const known = PRESETS[key] ?? PRESETS[bare];
  if (known !== undefined) return known;
  return unavailable(
    `the model ${key} is a trained model that cannot be fetched here (no network but npm and apt)`,
  );
}

/** The stand-in of a URL the tests download, or `unavailable`. */
export function urlTarget(url: string): PresetTarget {
  return URLS[url] ?? unavailable(`${url} cannot be fetched here`);
}
