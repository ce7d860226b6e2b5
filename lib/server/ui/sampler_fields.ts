/**
 * The generation settings the chat page offers, each an input whose value (when not empty)
 * goes into the request body under `field`: the llama.cpp samplers and the answer's length.
 * The page's markup is generated from this table, and the page reads the inputs back by their
 * `data-field` attribute.
 *
 * @module
 */

/** One setting of the page. */
export interface SamplerField {
  /** Element id. */
  id: string;
  label: string;
  /** Field of the `/v1/chat/completions` body. */
  field: string;
  /** Field of `/props`' `default_generation_settings.params` that holds the server's default. */
  defaultFrom: string;
  kind: "int" | "float";
  min?: number;
  max?: number;
  step: number;
}

/** The settings, in the order the page shows them. */
export const SAMPLER_FIELDS: readonly SamplerField[] = [
  {
    id: "temperature",
    label: "Temperature",
    field: "temperature",
    defaultFrom: "temperature",
    kind: "float",
    min: 0,
    max: 2,
    step: 0.05,
  },
  {
    id: "max-tokens",
    label: "Max tokens",
    field: "max_tokens",
    defaultFrom: "n_predict",
    kind: "int",
    min: -1,
    step: 1,
  },
  {
    id: "top-k",
    label: "Top-k",
    field: "top_k",
    defaultFrom: "top_k",
    kind: "int",
    min: 0,
    step: 1,
  },
  {
    id: "top-p",
    label: "Top-p",
    field: "top_p",
    defaultFrom: "top_p",
    kind: "float",
    min: 0,
    max: 1,
    step: 0.01,
  },
  {
    id: "min-p",
    label: "Min-p",
    field: "min_p",
    defaultFrom: "min_p",
    kind: "float",
    min: 0,
    max: 1,
    step: 0.01,
  },
  {
    id: "typical-p",
    label: "Typical-p",
    field: "typical_p",
    defaultFrom: "typical_p",
    kind: "float",
    min: 0,
    max: 1,
    step: 0.01,
  },
  {
    id: "repeat-penalty",
    label: "Repeat penalty",
    field: "repeat_penalty",
    defaultFrom: "repeat_penalty",
    kind: "float",
    min: 0,
    step: 0.05,
  },
  {
    id: "repeat-last-n",
    label: "Repeat last N",
    field: "repeat_last_n",
    defaultFrom: "repeat_last_n",
    kind: "int",
    min: -1,
    step: 1,
  },
  {
    id: "presence-penalty",
    label: "Presence penalty",
    field: "presence_penalty",
    defaultFrom: "presence_penalty",
    kind: "float",
    min: -2,
    max: 2,
    step: 0.1,
  },
  {
    id: "frequency-penalty",
    label: "Frequency penalty",
    field: "frequency_penalty",
    defaultFrom: "frequency_penalty",
    kind: "float",
    min: -2,
    max: 2,
    step: 0.1,
  },
  { id: "seed", label: "Seed", field: "seed", defaultFrom: "seed", kind: "int", step: 1 },
];

/** The markup of the settings: a label and a number input for each field. */
export function samplerMarkup(fields: readonly SamplerField[] = SAMPLER_FIELDS): string {
  return fields.map((f) => {
    const attrs = [
      `type="number"`,
      `id="${f.id}"`,
      `data-field="${f.field}"`,
      `data-default-from="${f.defaultFrom}"`,
      `data-kind="${f.kind}"`,
      ...(f.min !== undefined ? [`min="${f.min}"`] : []),
      ...(f.max !== undefined ? [`max="${f.max}"`] : []),
      `step="${f.step}"`,
      `inputmode="${f.kind === "int" ? "numeric" : "decimal"}"`,
    ];
    return `          <label for="${f.id}">${f.label}</label>\n          <input ${
      attrs.join(" ")
    }>`;
  }).join("\n");
}
