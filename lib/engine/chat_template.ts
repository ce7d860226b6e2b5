/**
 * Chat templates: Jinja from the GGUF's `tokenizer.chat_template` rendered with
 * `@huggingface/jinja`, a few built-in ones for `--chat-template NAME`, and a ChatML
 * fallback. {@linkcode chatPrompt} turns messages into prompt tokens so that only
 * markers the template itself wrote become special tokens: text from the request
 * (message content, names, tools) never does, whatever it contains.
 *
 * How: before rendering, every occurrence of a control token's text inside request
 * strings is swapped for an opaque placeholder; the rendered prompt is split at the
 * control-token texts left (the template's own), each piece between them is tokenized as
 * plain text with the placeholders put back, and the markers become their token ids.
 * For requests without such text this gives exactly the tokens llama.cpp gets from
 * tokenizing the whole prompt with special parsing on.
 *
 * @module
 */
import { type JinjaProgram, parseJinja, renderJinja } from "./jinja_runtime.ts";
import { readTextLimited } from "../util/read_limited.ts";

/** Built-in templates for `--chat-template NAME`, as Jinja. */
export const BUILTIN_TEMPLATES: Readonly<Record<string, string>> = {
  chatml: "{%- for message in messages -%}" +
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}" +
    "{%- endfor -%}" +
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}",
  llama2: "{%- set ns = namespace(inside=true) -%}{{- '[INST] ' -}}" +
    "{%- for message in messages -%}" +
    "{%- if not ns.inside -%}{%- set ns.inside = true -%}{{- '<s>[INST] ' -}}{%- endif -%}" +
    "{%- if message.role == 'system' -%}{{- '<<SYS>>\\n' + message.content + '\\n<</SYS>>\\n\\n' -}}" +
    "{%- elif message.role == 'user' -%}{{- message.content + ' [/INST]' -}}" +
    "{%- else -%}{{- message.content + '</s>' -}}{%- set ns.inside = false -%}{%- endif -%}" +
    "{%- endfor -%}",
  llama3: "{%- for message in messages -%}" +
    "{{- '<|start_header_id|>' + message.role + '<|end_header_id|>\\n\\n' + (message.content | trim) + '<|eot_id|>' -}}" +
    "{%- endfor -%}" +
    "{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}{%- endif -%}",
  mistral: "{%- set ns = namespace(inside=false) -%}" +
    "{%- for message in messages -%}" +
    "{%- if not ns.inside -%}{{- '[INST] ' -}}{%- set ns.inside = true -%}{%- endif -%}" +
    "{%- if message.role == 'system' -%}{{- message.content + '\\n\\n' -}}" +
    "{%- elif message.role == 'user' -%}{{- message.content + '[/INST]' -}}" +
    "{%- else -%}{{- ' ' + (message.content | trim) + '</s>' -}}{%- set ns.inside = false -%}{%- endif -%}" +
    "{%- endfor -%}",
  gemma: "{%- set ns = namespace(system='') -%}" +
    "{%- for message in messages -%}" +
    "{%- if message.role == 'system' -%}{%- set ns.system = ns.system + (message.content | trim) -%}" +
    "{%- else -%}" +
    "{%- set role = 'model' if message.role == 'assistant' else message.role -%}" +
    "{{- '<start_of_turn>' + role + '\\n' -}}" +
    "{%- if ns.system != '' and role != 'model' -%}{{- ns.system + '\\n\\n' -}}{%- set ns.system = '' -%}{%- endif -%}" +
    "{{- (message.content | trim) + '<end_of_turn>\\n' -}}" +
    "{%- endif -%}" +
    "{%- endfor -%}" +
    "{%- if add_generation_prompt -%}{{- '<start_of_turn>model\\n' -}}{%- endif -%}",
  phi3: "{%- for message in messages -%}" +
    "{{- '<|' + message.role + '|>\\n' + message.content + '<|end|>\\n' -}}" +
    "{%- endfor -%}" +
    "{%- if add_generation_prompt -%}{{- '<|assistant|>\\n' -}}{%- endif -%}",
  zephyr: "{%- for message in messages -%}" +
    "{{- '<|' + message.role + '|>\\n' + message.content + '<|endoftext|>\\n' -}}" +
    "{%- endfor -%}" +
    "{%- if add_generation_prompt -%}{{- '<|assistant|>\\n' -}}{%- endif -%}",
};

/** A function (tool) call in an assistant message, OpenAI's shape. */
export interface ChatToolCall {
  id?: string;
  type?: string;
  function: { name: string; arguments: string | Record<string, unknown> };
}

/** One chat message; `content` is text (array content is joined with newlines before rendering). */
export interface ChatMessage {
  role: string;
  /** Text; an image sits at a media marker (see {@linkcode mediaSegments}). */
  content: string | null;
  /** The images at the media markers of `content`, in order (their URLs or names). */
  images?: string[];
  name?: string;
  tool_calls?: ChatToolCall[];
  tool_call_id?: string;
}

/** The largest chat template file `--chat-template FILE` reads. */
export const MAX_TEMPLATE_FILE = 1 << 20;

/** Options of {@linkcode ChatTemplate.render} and {@linkcode chatPrompt}. */
export interface RenderOptions {
  /** End with the assistant's turn header (default true). */
  addGenerationPrompt?: boolean;
  /** OpenAI `tools`, passed to templates that use them. */
  tools?: unknown[];
  /** OpenAI `tool_choice`, passed along with `tools`. */
  toolChoice?: unknown;
  bosToken?: string;
  eosToken?: string;
  /** More template variables (`chat_template_kwargs`). */
  extra?: Record<string, unknown>;
}

/** Renders messages with one of libllama's built-in templates (see `ffi/chat_builtin.ts`). */
export type NativeChatRender = (
  messages: readonly { role: string; content: string }[],
  addAssistant: boolean,
) => string;

/** libllama's built-in templates: their names and how to render one. */
export interface NativeChatTemplates {
  names: readonly string[];
  render: (name: string, ...args: Parameters<NativeChatRender>) => string;
}

/** A parsed chat template. */
export class ChatTemplate {
  /** The Jinja source. */
  readonly source: string;
  /** Where it came from: `model`, a built-in name, `file:PATH`, `inline`, or `chatml (fallback)`. */
  readonly origin: string;
  /** True when the template reads `tools` (tool calling is passed through). */
  readonly supportsTools: boolean;
  readonly #template: JinjaProgram;
  readonly #native: NativeChatRender | null;

  /**
   * Parses `source`; throws `SyntaxError` when it is not valid Jinja. With `native`, the
   * template is one of libllama's built-ins (`source` is its name) and `native` renders it.
   */
  constructor(source: string, origin: string, native: NativeChatRender | null = null) {
    this.source = source;
    this.origin = origin;
    this.#native = native;
    try {
      this.#template = parseJinja(source);
    } catch (cause) {
      throw new SyntaxError(`Cannot parse chat template "${origin}": ${(cause as Error).message}`, {
        cause,
      });
    }
    this.supportsTools = /\btools\b/.test(source);
  }

  /** Renders `messages` to prompt text; template errors (`raise_exception`) throw `RangeError`. */
  render(messages: readonly ChatMessage[], options: RenderOptions = {}): string {
    const withTools = this.supportsTools && options.tools !== undefined && options.tools.length > 0;
    const variables: Record<string, unknown> = {
      ...options.extra,
      messages: messages.map(forTemplate),
      add_generation_prompt: options.addGenerationPrompt ?? true,
      bos_token: options.bosToken ?? "",
      eos_token: options.eosToken ?? "",
    };
    if (withTools) {
      variables.tools = options.tools;
      if (options.toolChoice !== undefined) variables.tool_choice = options.toolChoice;
    }
    return this.renderVariables(variables);
  }

  /**
   * Renders the template with exactly `variables` (no defaults); `strftime_now` formats `now`.
   * Template errors (`raise_exception`) throw `RangeError`.
   */
  renderVariables(variables: Record<string, unknown>, now?: Date): string {
    if (this.#native !== null) {
      const messages = Array.isArray(variables.messages) ? variables.messages : [];
      return this.#native(
        messages.map((m: Record<string, unknown>) => ({
          role: String(m?.role ?? ""),
          content: typeof m?.content === "string" ? m.content : "",
        })),
        variables.add_generation_prompt === true,
      );
    }
    try {
      return renderJinja(this.#template, variables, now);
    } catch (cause) {
      throw new RangeError(`Cannot apply the chat template: ${(cause as Error).message}`, {
        cause,
      });
    }
  }
}

function forTemplate(message: ChatMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { role: message.role, content: message.content ?? "" };
  if (message.name !== undefined) out.name = message.name;
  if (message.tool_call_id !== undefined) out.tool_call_id = message.tool_call_id;
  if (message.tool_calls !== undefined) {
    out.tool_calls = message.tool_calls.map((call) => {
      let args = call.function.arguments;
      if (typeof args === "string") {
        try {
          const parsed = JSON.parse(args);
          if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
            args = parsed;
          }
        } catch {
          // keep the string
        }
      }
      return {
        ...call,
        type: call.type ?? "function",
        function: { name: call.function.name, arguments: args },
      };
    });
  }
  return out;
}

/** The flags that give templates variables (llama.cpp's `default_template_kwargs`). */
export interface TemplateKwargFlags {
  /** `--chat-template-kwargs`. */
  chatTemplateKwargs?: Record<string, unknown>;
  /** `--reasoning-effort`: `default` leaves the template's own. */
  reasoningEffort?: string;
  /** `--reasoning-preserve` / `--no-reasoning-preserve`. */
  reasoningPreserve?: boolean;
}

/**
 * The template variables every chat gets unless it names its own: `--chat-template-kwargs`,
 * then `reasoning_effort` and `preserve_reasoning` as their flags set them.
 */
export function defaultTemplateKwargs(flags: TemplateKwargFlags): Record<string, unknown> {
  const kwargs: Record<string, unknown> = { ...flags.chatTemplateKwargs };
  if (flags.reasoningEffort !== undefined) {
    if (flags.reasoningEffort === "default") delete kwargs.reasoning_effort;
    else kwargs.reasoning_effort = flags.reasoningEffort;
  }
  if (flags.reasoningPreserve !== undefined) kwargs.preserve_reasoning = flags.reasoningPreserve;
  return kwargs;
}

/** Reads a template file; a separate function so tests can swap it. */
export type ReadTextFile = (path: string) => Promise<string>;

/**
 * Picks the template: `spec` (a built-in name, inline Jinja, or a file path) when
 * given, else the model's, else ChatML. A model template that does not parse falls back
 * to ChatML and calls `warn`.
 */
export async function resolveChatTemplate(
  spec: string | undefined,
  modelTemplate: string | null,
  options: {
    readFile?: ReadTextFile;
    warn?: (line: string) => void;
    /** libllama's built-in templates, for names that are not ours (`command-r`, ...). */
    native?: NativeChatTemplates;
  } = {},
): Promise<ChatTemplate> {
  if (spec !== undefined) {
    const builtin = BUILTIN_TEMPLATES[spec];
    if (builtin !== undefined) return new ChatTemplate(builtin, spec);
    if (spec.includes("{%") || spec.includes("{{")) return new ChatTemplate(spec, "inline");
    const native = options.native;
    if (native !== undefined && native.names.includes(spec)) {
      return new ChatTemplate(spec, spec, (messages, add) => native.render(spec, messages, add));
    }
    const read = options.readFile ?? ((path: string) => readTextLimited(path, MAX_TEMPLATE_FILE));
    let source: string;
    try {
      source = await read(spec);
    } catch (cause) {
      if (cause instanceof Deno.errors.NotCapable) throw cause;
      // Text with spaces that is no file: llama.cpp's --chat-template takes it as the template.
      if (/\s/.test(spec.trim())) return new ChatTemplate(spec, "inline");
      const names = [...Object.keys(BUILTIN_TEMPLATES), ...(options.native?.names ?? [])]
        .filter((name, i, all) => all.indexOf(name) === i).join(", ");
      throw new TypeError(
        `Cannot load chat template "${spec}": it is not a built-in name (${names}) and cannot be read: ${
          (cause as Error).message
        }`,
        { cause },
      );
    }
    return new ChatTemplate(source, `file:${spec}`);
  }
  if (modelTemplate !== null && modelTemplate.trim() !== "") {
    try {
      return new ChatTemplate(modelTemplate, "model");
    } catch (error) {
      options.warn?.(`llamafile: warning: ${(error as Error).message}; using ChatML`);
    }
  }
  return new ChatTemplate(BUILTIN_TEMPLATES.chatml!, "chatml (fallback)");
}

/** What {@linkcode chatPrompt} needs from a model's vocabulary. */
export interface ChatVocab {
  readonly vocabSize: number;
  readonly bos: number;
  readonly eos: number;
  readonly addsBos: boolean;
  tokenize(
    text: string,
    options: { addSpecial: boolean; parseSpecial: boolean },
  ): ArrayLike<number>;
  tokenBytes(token: number, special?: boolean): Uint8Array;
}

/** A rendered chat prompt. */
export interface ChatPrompt {
  /** The prompt as text (BOS not included). */
  text: string;
  /** Its tokens, BOS first when the model adds one. */
  tokens: number[];
}

const controlCache = new WeakMap<object, [string, number][]>();

/**
 * Control tokens of `vocab` (those special parsing turns text into): tokens whose piece is
 * empty unless special pieces are asked for. Longest text first, as llama.cpp matches them.
 */
export function controlTokens(vocab: ChatVocab): [string, number][] {
  let found = controlCache.get(vocab);
  if (found) return found;
  const decoder = new TextDecoder();
  found = [];
  for (let token = 0; token < vocab.vocabSize; token++) {
    if (vocab.tokenBytes(token, false).length > 0) continue;
    const text = decoder.decode(vocab.tokenBytes(token, true));
    if (text !== "") found.push([text, token]);
  }
  found.sort((a, b) => b[0].length - a[0].length || a[1] - b[1]);
  controlCache.set(vocab, found);
  return found;
}

function tokenText(vocab: ChatVocab, token: number): string {
  return token < 0 ? "" : new TextDecoder().decode(vocab.tokenBytes(token, true));
}

/** Swaps control-token texts inside request strings for placeholders, and back. */
class Shield {
  readonly #controls: [string, number][];
  readonly #open: string;
  readonly #close = "\uFDD1";
  readonly #saved: string[] = [];

  constructor(controls: [string, number][], sample: string) {
    this.#controls = controls;
    let open = "\uFDD0";
    while (sample.includes(open)) open += "\uFDD0";
    this.#open = open;
  }

  hide<T>(value: T): T {
    if (typeof value === "string") return this.#hideText(value) as T;
    if (Array.isArray(value)) return value.map((item) => this.hide(item)) as T;
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.hide(v)])) as T;
    }
    return value;
  }

  #hideText(text: string): string {
    if (!this.#controls.some(([special]) => text.includes(special))) return text;
    let pieces: (string | { saved: number })[] = [text];
    for (const [special] of this.#controls) {
      if (!text.includes(special)) continue;
      pieces = pieces.flatMap((piece) => {
        if (typeof piece !== "string" || !piece.includes(special)) return [piece];
        const parts = piece.split(special);
        return parts.flatMap((part, i) => {
          if (i === parts.length - 1) return [part];
          this.#saved.push(special);
          return [part, { saved: this.#saved.length - 1 }];
        });
      });
    }
    return pieces.map((p) => typeof p === "string" ? p : `${this.#open}${p.saved}${this.#close}`)
      .join("");
  }

  reveal(text: string): string {
    if (this.#saved.length === 0) return text;
    const pattern = new RegExp(`${this.#open}(\\d+)${this.#close}`, "g");
    return text.replace(pattern, (_, i: string) => this.#saved[Number(i)] ?? "");
  }
}

/** Splits `text` at control-token texts (longest first), like llama.cpp's special partition. */
function partition(text: string, controls: [string, number][]): (string | number)[] {
  let pieces: (string | number)[] = [text];
  for (const [special, token] of controls) {
    if (!text.includes(special)) continue;
    pieces = pieces.flatMap((piece) => {
      if (typeof piece !== "string" || !piece.includes(special)) return [piece];
      const parts = piece.split(special);
      return parts.flatMap((part, i) => (i === parts.length - 1 ? [part] : [part, token]));
    });
  }
  return pieces.filter((piece) => piece !== "");
}

/** A chat prompt rendered and split, before its text is tokenized. */
export interface RenderedChat {
  /** The prompt as text (BOS not included). */
  text: string;
  /** BOS (when the model adds one), then the template's control tokens and the text between. */
  pieces: (string | number)[];
}

/**
 * Hides control-token texts inside request values (messages, tools, template variables) from the
 * tokenizer: {@linkcode PromptShield.hide} before rendering, {@linkcode shieldedPieces} after.
 */
export class PromptShield {
  readonly #shield: Shield;
  readonly controls: [string, number][];

  /** A shield for `vocab`; `sample` is every request text (placeholders must not occur in it). */
  constructor(vocab: ChatVocab, sample: string) {
    this.controls = controlTokens(vocab);
    this.#shield = new Shield(this.controls, sample);
  }

  /** `value` with control-token texts in its strings swapped for placeholders. */
  hide<T>(value: T): T {
    return this.#shield.hide(value);
  }

  /** `text` with the placeholders put back. */
  reveal(text: string): string {
    return this.#shield.reveal(text);
  }
}

/**
 * A prompt rendered from shielded values, split so that the template's own markers become their
 * control tokens and request text never does. A leading BOS text is dropped when the model adds
 * BOS itself (as llama.cpp does).
 */
export function shieldedPieces(
  vocab: ChatVocab,
  shield: PromptShield,
  rendered: string,
  bosToken = tokenText(vocab, vocab.bos),
): RenderedChat {
  if (vocab.addsBos && bosToken !== "" && rendered.startsWith(bosToken)) {
    rendered = rendered.slice(bosToken.length);
  }
  const pieces: (string | number)[] = [];
  if (vocab.addsBos && vocab.bos >= 0) pieces.push(vocab.bos);
  for (const piece of partition(rendered, shield.controls)) {
    pieces.push(typeof piece === "number" ? piece : shield.reveal(piece));
  }
  return { text: shield.reveal(rendered), pieces };
}

/**
 * Renders `messages` with `template` and splits the result so that only the template's own
 * markers become special tokens. A leading BOS text is dropped when the model adds BOS itself
 * (as llama.cpp does).
 */
export function renderChat(
  vocab: ChatVocab,
  template: ChatTemplate,
  messages: readonly ChatMessage[],
  options: RenderOptions = {},
): RenderedChat {
  // Images (megabytes of data URIs) are not template input: their media markers stand for them.
  messages = messages.map(({ images: _, ...message }) => message);
  const sample = JSON.stringify([messages, options.tools ?? null, template.source]);
  const shield = new PromptShield(vocab, sample);
  const bosToken = options.bosToken ?? tokenText(vocab, vocab.bos);
  const eosToken = options.eosToken ?? tokenText(vocab, vocab.eos);
  const hidden = shield.hide(messages.map((m) => ({ ...m })));
  const rendered = template.render(hidden, {
    ...options,
    ...(options.tools !== undefined && { tools: shield.hide(options.tools) }),
    ...(options.toolChoice !== undefined && { toolChoice: shield.hide(options.toolChoice) }),
    ...(options.extra !== undefined && { extra: shield.hide(options.extra) }),
    bosToken,
    eosToken,
  });
  return shieldedPieces(vocab, shield, rendered, bosToken);
}

/** Appends `items` to `out` (a loop: a spread of 200k arguments overflows the stack). */
function append(out: number[], items: ArrayLike<number>): void {
  for (let i = 0; i < items.length; i++) out.push(items[i]!);
}

/** {@linkcode renderChat}, tokenized: the prompt's text and tokens. */
export function chatPrompt(
  vocab: ChatVocab,
  template: ChatTemplate,
  messages: readonly ChatMessage[],
  options: RenderOptions = {},
): ChatPrompt {
  const { text, pieces } = renderChat(vocab, template, messages, options);
  return { text, tokens: tokenizePieces(vocab, pieces) };
}

/** The tokens of rendered pieces: control tokens as they are, text without special parsing. */
function tokenizePieces(vocab: ChatVocab, pieces: readonly (string | number)[]): number[] {
  const tokens: number[] = [];
  for (const piece of pieces) {
    if (typeof piece === "number") tokens.push(piece);
    else append(tokens, vocab.tokenize(piece, { addSpecial: false, parseSpecial: false }));
  }
  return tokens;
}

/**
 * The tokens of rendered `pieces` split where the template put `mediaMarker` (the text that
 * stands for an image in messages): the tokens between the markers, one more segment than
 * markers, the first with BOS when the model adds one. The marker is not a control token: text
 * that holds it is split all the same, and the caller checks the count against its images.
 */
export function mediaSegments(
  vocab: ChatVocab,
  pieces: readonly (string | number)[],
  mediaMarker: string,
): number[][] {
  const segments: (string | number)[][] = [[]];
  for (const piece of pieces) {
    if (typeof piece === "number") {
      segments[segments.length - 1]!.push(piece);
      continue;
    }
    piece.split(mediaMarker).forEach((text, i) => {
      if (i > 0) segments.push([]);
      if (text !== "") segments[segments.length - 1]!.push(text);
    });
  }
  return segments.map((segment) => tokenizePieces(vocab, segment));
}

/** A vocabulary that can also tokenize off the JS thread. */
export interface AsyncChatVocab extends ChatVocab {
  tokenizeAsync(
    text: string,
    options: { addSpecial: boolean; parseSpecial: boolean },
  ): Promise<ArrayLike<number>>;
}

/**
 * The prompt of `rendered` for a server: when its text reaches `offThreadChars` characters, its
 * pieces are tokenized off the JS thread, so that a long conversation does not hold the event
 * loop while it is tokenized.
 */
export async function tokenizeRendered(
  vocab: AsyncChatVocab,
  rendered: RenderedChat,
  offThreadChars = 32 * 1024,
): Promise<ChatPrompt> {
  const { text, pieces } = rendered;
  if (text.length < offThreadChars) return { text, tokens: tokenizePieces(vocab, pieces) };
  const tokens: number[] = [];
  for (const piece of pieces) {
    if (typeof piece === "number") tokens.push(piece);
    else {
      append(tokens, await vocab.tokenizeAsync(piece, { addSpecial: false, parseSpecial: false }));
    }
  }
  return { text, tokens };
}

/** {@linkcode chatPrompt} for a server (see {@linkcode tokenizeRendered}). */
export function chatPromptAsync(
  vocab: AsyncChatVocab,
  template: ChatTemplate,
  messages: readonly ChatMessage[],
  options: RenderOptions & { offThreadChars?: number } = {},
): Promise<ChatPrompt> {
  return tokenizeRendered(
    vocab,
    renderChat(vocab, template, messages, options),
    options.offThreadChars,
  );
}

/** The text of token `token` with special pieces ("" for none). */
export function specialTokenText(vocab: ChatVocab, token: number): string {
  return tokenText(vocab, token);
}
