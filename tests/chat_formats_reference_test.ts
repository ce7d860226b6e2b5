/**
 * The chat formats against llama.cpp itself (release v0.5.0, the source our libllama is built
 * from; the templates are read from it):
 *
 * - every PEG parser case of llama.cpp's `tests/test-chat.cpp` (data in
 *   `tests/data/chat_formats/test_chat_cases.json`): the text parsed whole gives the expected
 *   message, and parsed as it streams, one character more each time, its deltas add up to the
 *   same message at every step (upstream's test_peg_parser);
 * - for every template in `models/templates`, seven requests whose prompt, generation prompt,
 *   grammar, triggers, preserved tokens and thinking tags must equal llama.cpp's
 *   (`apply_golden.json`), and the template analysis and capabilities.
 *
 * Both data files are written by `scripts/chat_reference.ts` from a native build. Families with
 * no port yet (see families/unported.ts) are listed and left out.
 *
 * Needs --allow-read --allow-write --allow-env --allow-run (npm and git fetch the source once).
 */
import { deepStrictEqual, ok } from "node:assert/strict";
import { canonicalGrammar, GOLDEN_VARIANTS, llamaSourceTree } from "../scripts/chat_reference.ts";
import { ChatTemplate } from "../lib/engine/chat_template.ts";
import {
  applyChatFormat,
  type ChatRequest,
  dedicatedFamily,
  formatTemplate,
  parseChatOutput,
} from "../lib/engine/chat_formats/chat_format.ts";
import {
  emptyMessage,
  messageDeltas,
  type ParsedMessage,
} from "../lib/engine/chat_formats/chat_message.ts";
import { TRIGGER_TYPE_NUMBER } from "../lib/engine/chat_formats/chat_params.ts";
import { analyzeTemplate } from "../lib/engine/chat_formats/template_analysis.ts";
import { TEMPLATE_PATCHES } from "../lib/engine/chat_formats/template_patches.ts";
import { UNPORTED_FAMILIES } from "../lib/engine/chat_formats/families/unported.ts";

const DATA = new URL("./data/chat_formats/", import.meta.url);
const SRC = await llamaSourceTree(false);

interface Case {
  template: string;
  inputs: Record<string, unknown>;
  input: string;
  is_partial: boolean;
  expect: {
    content: string;
    reasoning_content: string;
    tool_calls: { name: string; arguments: string; id: string }[];
  };
  native: string;
}

function unported(source: string): string | null {
  return UNPORTED_FAMILIES.find((family) => family.matches(source))?.name ?? null;
}

const templates = new Map<string, string>();
function source(path: string): string {
  let text = templates.get(path);
  if (text === undefined) {
    text = Deno.readTextFileSync(`${SRC}/${path}`);
    templates.set(path, text);
  }
  return text;
}

/** A request of the data files, as our formats take it. */
function request(inputs: Record<string, unknown>, now?: Date): ChatRequest {
  const kwargs = (inputs.chat_template_kwargs ?? {}) as Record<string, unknown>;
  const out: ChatRequest = {
    messages: inputs.messages as ChatRequest["messages"],
    tools: (inputs.tools ?? []) as ChatRequest["tools"],
    toolChoice: (inputs.tool_choice ?? "auto") as ChatRequest["toolChoice"],
    parallelToolCalls: (inputs.parallel_tool_calls ?? false) as boolean,
    reasoningFormat: (inputs.reasoning_format ?? "none") as ChatRequest["reasoningFormat"],
    enableThinking: (inputs.enable_thinking ?? true) as boolean,
    addGenerationPrompt: (inputs.add_generation_prompt ?? true) as boolean,
    continueFinalMessage:
      (inputs.continue_final_message ?? "none") as ChatRequest["continueFinalMessage"],
    kwargs,
  };
  if (inputs.json_schema !== undefined) {
    out.jsonSchema = inputs.json_schema as Record<string, unknown>;
  }
  if (now !== undefined) out.now = now;
  return out;
}

function renormalize(args: string): string {
  try {
    return JSON.stringify(JSON.parse(args));
  } catch {
    return "";
  }
}

/** A message in the shape upstream compares (stripped text, renormalized JSON arguments). */
function comparable(m: ParsedMessage) {
  return {
    content: m.content.trim(),
    reasoning: m.reasoningContent.trim(),
    calls: m.toolCalls.map((c) => ({
      name: c.name,
      arguments: renormalize(c.arguments),
      id: c.id,
    })),
  };
}

const cases = JSON.parse(await Deno.readTextFile(new URL("test_chat_cases.json", DATA))) as Case[];

Deno.test("applyChatFormat() and parseChatOutput() pass llama.cpp's test-chat.cpp parser cases", () => {
  const failures: string[] = [];
  const skipped = new Map<string, number>();
  let ran = 0;
  for (const [index, c] of cases.entries()) {
    const src = source(c.template);
    const left = unported(src);
    if (left !== null) {
      skipped.set(left, (skipped.get(left) ?? 0) + 1);
      continue;
    }
    ran++;
    const where = `case ${index} (${c.template.split("/").pop()}, ${
      JSON.stringify(c.input.slice(0, 60))
    })`;
    try {
      const template = formatTemplate(new ChatTemplate(src, c.template), "", "");
      const params = applyChatFormat(template, request(c.inputs));
      const expected = comparable({
        content: c.expect.content,
        reasoningContent: c.expect.reasoning_content,
        toolCalls: c.expect.tool_calls,
      });
      // streamed: every prefix, its deltas accumulated
      let previous = emptyMessage();
      const accumulated = emptyMessage();
      for (let i = 1; i <= c.input.length; i++) {
        const code = c.input.charCodeAt(i - 1);
        if (i < c.input.length && code >= 0xd800 && code <= 0xdbff) continue; // whole code points
        const partial = i < c.input.length || c.is_partial;
        const current = parseChatOutput(params, c.input.slice(0, i), partial);
        for (const delta of messageDeltas(previous, current)) {
          if (delta.reasoningContent) accumulated.reasoningContent += delta.reasoningContent;
          if (delta.content) accumulated.content += delta.content;
          if (delta.toolCall) {
            const d = delta.toolCall;
            while (accumulated.toolCalls.length <= d.index) {
              accumulated.toolCalls.push({ name: "", arguments: "", id: "" });
            }
            const call = accumulated.toolCalls[d.index]!;
            if (d.name) call.name = d.name;
            if (d.id) call.id = d.id;
            call.arguments += d.arguments;
          }
        }
        deepStrictEqual(comparable(accumulated), comparable(current), `streamed deltas at ${i}`);
        previous = current;
      }
      if (!c.is_partial) {
        deepStrictEqual(comparable(parseChatOutput(params, c.input, false)), expected);
      }
      deepStrictEqual(comparable(accumulated), expected);
    } catch (error) {
      failures.push(`${where}: ${(error as Error).message.split("\n").slice(0, 8).join(" | ")}`);
    }
  }
  console.log(
    `test-chat.cpp cases: ${ran} run, ${cases.length - ran} of unported families left out: ${
      JSON.stringify(Object.fromEntries(skipped))
    }`,
  );
  ok(ran > 250, `too few cases ran: ${ran}`);
  deepStrictEqual(failures, []);
});

interface Golden {
  analysis: Record<string, unknown> | null;
  variants: Record<string, Record<string, unknown>>;
}

const golden = JSON.parse(await Deno.readTextFile(new URL("apply_golden.json", DATA))) as Record<
  string,
  Golden
>;

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("applyChatFormat() gives llama.cpp's prompt, grammar and triggers for every template", async () => {
  const failures: string[] = [];
  let checked = 0;
  for (const [name, entry] of Object.entries(golden)) {
    const src = source(`models/templates/${name}`);
    if (unported(src) !== null) continue;
    const template = formatTemplate(new ChatTemplate(src, name), "<s>", "</s>");
    for (const [variant, native] of Object.entries(entry.variants)) {
      const inputs = GOLDEN_VARIANTS[variant]!;
      const where = `${name} ${variant}`;
      let params;
      try {
        params = applyChatFormat(
          template,
          request(inputs, new Date((native.now as number) * 1000)),
        );
      } catch (error) {
        if (!("error" in native)) failures.push(`${where}: throws ${(error as Error).message}`);
        continue;
      }
      if ("error" in native) {
        failures.push(`${where}: llama.cpp refuses it (${native.error}), we do not`);
        continue;
      }
      checked++;
      const ours = {
        prompt_sha256: await sha256(params.prompt),
        generation_prompt: params.generationPrompt,
        grammar_sha256: await sha256(canonicalGrammar(params.grammar)),
        grammar_lazy: params.grammarLazy,
        grammar_triggers: params.grammarTriggers.map((t) => ({
          type: TRIGGER_TYPE_NUMBER[t.type],
          value: t.value,
        })),
        preserved_tokens: params.preservedTokens,
        additional_stops: params.additionalStops,
        supports_thinking: params.supportsThinking,
        thinking_start_tag: params.thinkingStartTag,
        thinking_end_tags: params.thinkingEndTags,
      };
      const { now: _, ...expected } = native;
      for (const [key, value] of Object.entries(expected)) {
        const mine = ours[key as keyof typeof ours];
        if (JSON.stringify(mine) !== JSON.stringify(value)) {
          failures.push(
            `${where}: ${key}: ours ${JSON.stringify(mine)}, llama.cpp ${JSON.stringify(value)}`,
          );
        }
      }
    }
  }
  ok(checked > 350, `too few requests checked: ${checked}`);
  deepStrictEqual(failures, []);
});

Deno.test("analyzeTemplate() finds llama.cpp's markers and capabilities in every template", () => {
  const failures: string[] = [];
  const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const rename: Record<string, string> = {
    arg_name_prefix: "argNamePrefix",
    arg_name_suffix: "argNameSuffix",
    arg_value_prefix: "argValuePrefix",
    arg_value_suffix: "argValueSuffix",
    arg_separator: "argSeparator",
    args_start: "argsStart",
    args_end: "argsEnd",
  };
  for (const [name, entry] of Object.entries(golden)) {
    const native = entry.analysis as Record<string, Record<string, unknown>> | null;
    if (native === null || "error" in native) continue;
    const src = source(`models/templates/${name}`);
    const template = formatTemplate(new ChatTemplate(src, name), "<s>", "</s>");
    const ours = analyzeTemplate(template, TEMPLATE_PATCHES);
    const check = (what: string, mine: unknown, theirs: unknown) => {
      if (JSON.stringify(mine) !== JSON.stringify(theirs)) {
        failures.push(
          `${name}: ${what}: ours ${JSON.stringify(mine)}, llama.cpp ${JSON.stringify(theirs)}`,
        );
      }
    };
    // a template with a dedicated format does not use its analysis; upstream still runs it
    if (dedicatedFamily(src) === null) {
      check("reasoning", ours.reasoning, native.reasoning);
      check("content", { ...ours.content, requiresNonnullContent: undefined }, {
        ...(native.content as Record<string, unknown>),
        requires_nonnull_content: undefined,
      });
      for (const [key, value] of Object.entries(native.tools!)) {
        check(
          `tools.${key}`,
          (ours.tools as unknown as Record<string, unknown>)[rename[key] ?? camel(key)],
          value,
        );
      }
      check("preserved_tokens", ours.preservedTokens, native.preserved_tokens);
    }
    const caps = template.caps as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(native.caps!)) {
      if (key === "supports_string_content" || key === "supports_typed_content") continue;
      check(key, caps[camel(key)], value);
    }
  }
  deepStrictEqual(failures, []);
});
