/**
 * Regenerates the chat-format reference data under `tests/data/chat_formats/` from llama.cpp
 * itself, built from the source our libllama comes from (bench/native.ts builds its libraries):
 *
 * - `test_chat_cases.json`: the PEG parser cases of llama.cpp's `tests/test-chat.cpp` (template,
 *   request, generated text, expected message), extracted by compiling a copy of that file with
 *   `scripts/chat_reference/test_chat_dump.inc` inserted, which also runs each case natively.
 * - `jinja_cases.json`: the template cases of llama.cpp's `tests/test-jinja.cpp` (template,
 *   variables, expected text) and what llama.cpp's own Jinja engine renders of each
 *   (`scripts/chat_reference/test_jinja_dump.inc`).
 * - `apply_golden.json`: for every template in `models/templates`, the native prompt, generation
 *   prompt, grammar, triggers, preserved tokens and thinking tags of seven kinds of request
 *   (`scripts/chat_reference/chat_reference.cpp`), and the template's analysis.
 *
 * ```sh
 * deno run -A scripts/chat_reference.ts     # about two minutes once the native libraries exist
 * ```
 *
 * @module
 */
import { buildLock, ensureNative, llamaCppSource } from "../bench/native.ts";
import { cacheDir, exists, run } from "../bench/cache_dir.ts";

const HERE = new URL(".", import.meta.url).pathname;

/**
 * The llama.cpp source tree of our release (bench/native.ts clones it from node-llama-cpp's
 * bundle into the bench cache once; npm and git, no build); its folder.
 */
export async function llamaSourceTree(verbose = true): Promise<string> {
  const dir = cacheDir("native");
  const src = `${dir}/src`;
  const ready = () => exists(`${src}/models/templates`);
  if (await ready()) return src;
  await Deno.mkdir(dir, { recursive: true });
  const release = await buildLock(`${dir}/.lock`, ready);
  if (release === null) return src;
  try {
    return await llamaCppSource(dir, (msg) => verbose && console.error(`native: ${msg}`));
  } finally {
    await release();
  }
}
const DATA = new URL("../tests/data/chat_formats/", import.meta.url).pathname;

async function compile(out: string, sources: string[], src: string, build: string): Promise<void> {
  const includes = [
    "common",
    "include",
    "ggml/include",
    "vendor",
    "src",
    "tools/server",
    "tools/mtmd",
    "tests",
  ]
    .map((d) => `-I${src}/${d}`);
  const libs = [
    "common/libllama-common.a",
    "common/libllama-common-base.a",
    "src/libllama.a",
    "ggml/src/libggml.a",
    "ggml/src/libggml-cpu.a",
    "ggml/src/libggml-base.a",
  ].map((l) => `${build}/${l}`);
  console.error(`chat_reference: compiling ${out}`);
  await run("g++", [
    "-std=c++17",
    "-O1",
    ...includes,
    ...sources,
    ...libs,
    "-lpthread",
    "-ldl",
    "-o",
    out,
  ], {
    quiet: true,
  });
}

/** The three native tools, built once into the cache. */
async function tools(): Promise<{ reference: string; cases: string; jinja: string }> {
  const bins = await ensureNative();
  const build = bins.bench.replace(/\/bin\/llama-bench$/, "");
  const src = await llamaSourceTree();
  const dir = cacheDir("chat-reference");
  await Deno.mkdir(dir, { recursive: true });
  const reference = `${dir}/chat_reference`;
  const cases = `${dir}/test_chat_cases`;
  if (!(await exists(reference))) {
    await compile(reference, [`${HERE}chat_reference/chat_reference.cpp`], src, build);
  }
  if (!(await exists(cases))) {
    const original = await Deno.readTextFile(`${src}/tests/test-chat.cpp`);
    const dump = await Deno.readTextFile(`${HERE}chat_reference/test_chat_dump.inc`);
    const patched = original
      .replace("class peg_test_builder;", `${dump}\nclass peg_test_builder;`)
      .replace(
        "test_peg_parser(tester_.tmpls_.get(), [this](peg_test_case & t) { t = tc_; }, tester_.detailed_debug_);",
        "dump_case(tester_.template_path(), tc_, [&]() { test_peg_parser(tester_.tmpls_.get(), [this](peg_test_case & t) { t = tc_; }, tester_.detailed_debug_); });",
      )
      .replace(
        "int main(int argc, char ** argv) {",
        "static int upstream_main(int argc, char ** argv) {",
      ) +
      `
int main(int argc, char ** argv) {
    (void) upstream_main;
    try {
        test_template_output_peg_parsers(false);
    } catch (const std::exception & e) {
        fprintf(stderr, "test_template_output_peg_parsers stopped: %s\\n", e.what());
    }
    std::ofstream(argv[1]) << g_cases.dump(1);
    return 0;
}
// stubs: the server functions other tests of this file use are never called here
json server_chat_convert_responses_to_chatcmpl(const json &) { throw std::runtime_error("stub"); }
json oaicompat_chat_params_parse(json &, const server_chat_params &, std::vector<raw_buffer> &) {
    throw std::runtime_error("stub");
}
`;
    const copy = `${dir}/test-chat-dump.cpp`;
    await Deno.writeTextFile(copy, patched);
    await compile(cases, [copy], src, build);
  }
  const jinja = `${dir}/test_jinja_cases`;
  if (!(await exists(jinja))) {
    const original = await Deno.readTextFile(`${src}/tests/test-jinja.cpp`);
    const dump = await Deno.readTextFile(`${HERE}chat_reference/test_jinja_dump.inc`);
    const header = "static void test_template_cpp(testing & t, const std::string & name, " +
      "const std::string & tmpl, const json & vars, const std::string & expect) {";
    if (!original.includes(header)) throw new Error("test-jinja.cpp has no test_template_cpp");
    const patched = original
      .replace(header, `${dump}\n${header}\n    dump_jinja_case(name, tmpl, vars, expect);`)
      .replace(
        "int main(int argc, char *argv[]) {",
        "static int upstream_main(int argc, char *argv[]) {",
      ) +
      `
int main(int argc, char ** argv) {
    (void) upstream_main;
    std::ostringstream quiet;
    testing t(quiet);
    test_whitespace_control(t);
    test_conditionals(t);
    test_loops(t);
    test_expressions(t);
    test_set_statement(t);
    test_filters(t);
    test_literals(t);
    test_comments(t);
    test_macros(t);
    test_namespace(t);
    test_tests(t);
    test_string_methods(t);
    test_array_methods(t);
    test_object_methods(t);
    std::ofstream(argv[1]) << g_jinja_cases.dump(1);
    return 0;
}
`;
    const copy = `${dir}/test-jinja-dump.cpp`;
    await Deno.writeTextFile(copy, patched);
    await compile(jinja, [copy], src, build);
  }
  return { reference, cases, jinja };
}

/** The cases a dumper writes to the file it is given, run from the source tree. */
async function testChatCases(binary: string, src: string): Promise<unknown[]> {
  const out = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await run(binary, [out], { cwd: src, quiet: true });
    return JSON.parse(await Deno.readTextFile(out));
  } finally {
    await Deno.remove(out).catch(() => {});
  }
}

const TOOL = {
  type: "function",
  function: {
    name: "special_function",
    description: "I'm special",
    parameters: {
      type: "object",
      properties: { arg1: { type: "integer", description: "The arg." } },
      required: ["arg1"],
    },
  },
};
const PYTHON = {
  type: "function",
  function: {
    name: "python",
    description: "Runs code",
    parameters: {
      type: "object",
      properties: { code: { type: "string", description: "The code." } },
      required: ["code"],
    },
  },
};
const MESSAGES = [
  { role: "system", content: "You are a helpful assistant." },
  { role: "user", content: "Hey there!" },
  {
    role: "assistant",
    content: null,
    tool_calls: [{
      id: "call_1___",
      type: "function",
      function: { name: "special_function", arguments: '{"arg1": 1}' },
    }],
  },
  { role: "tool", name: "special_function", tool_call_id: "call_1___", content: "42" },
  { role: "assistant", content: "The answer is 42." },
  { role: "user", content: "Thanks" },
];
const KWARGS = { date_string: "26 Jul 2024", datetime: "Jul 26 2024" };

/** The seven requests of the golden data, by name. */
export const GOLDEN_VARIANTS: Record<string, Record<string, unknown>> = {
  "plain": { messages: MESSAGES.slice(1, 2), chat_template_kwargs: KWARGS },
  "plain-auto": {
    messages: MESSAGES.slice(0, 2),
    reasoning_format: "auto",
    chat_template_kwargs: KWARGS,
  },
  "nothink": {
    messages: MESSAGES.slice(0, 2),
    reasoning_format: "auto",
    enable_thinking: false,
    chat_template_kwargs: KWARGS,
  },
  "tools-auto": {
    messages: MESSAGES,
    tools: [TOOL, PYTHON],
    reasoning_format: "auto",
    chat_template_kwargs: KWARGS,
  },
  "tools-required": {
    messages: MESSAGES,
    tools: [TOOL],
    tool_choice: "required",
    parallel_tool_calls: true,
    chat_template_kwargs: KWARGS,
  },
  "tools-none": {
    messages: MESSAGES,
    tools: [TOOL],
    tool_choice: "none",
    chat_template_kwargs: KWARGS,
  },
  "schema": {
    messages: MESSAGES.slice(0, 2),
    json_schema: { type: "object", properties: { a: { type: "string" } } },
    chat_template_kwargs: KWARGS,
  },
};

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Grammar text with its `until-N`/`ac-N` rule numbers (parser ids) made comparable. */
export function canonicalGrammar(grammar: string): string {
  const ids = [...new Set([...grammar.matchAll(/\b(until|ac)-(\d+)/g)].map((m) => Number(m[2])))]
    .sort((a, b) => a - b);
  const rank = new Map(ids.map((id, i) => [id, i]));
  return grammar.replace(/\b(until|ac)-(\d+)/g, (_, kind, n) => `${kind}-#${rank.get(Number(n))}`)
    .split("\n").sort().join("\n");
}

async function golden(binary: string, src: string): Promise<Record<string, unknown>> {
  const names = [...Deno.readDirSync(`${src}/models/templates`)].map((e) => e.name)
    .filter((n) => n.endsWith(".jinja")).sort();
  const cases = [];
  for (const name of names) {
    const source = await Deno.readTextFile(`${src}/models/templates/${name}`);
    for (const [variant, inputs] of Object.entries(GOLDEN_VARIANTS)) {
      cases.push({
        name,
        variant,
        source,
        bos: "<s>",
        eos: "</s>",
        analysis: variant === "plain",
        inputs,
      });
    }
  }
  const input = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(input, JSON.stringify(cases));
    const command = new Deno.Command(binary, { stdin: "piped", stdout: "piped", stderr: "null" });
    const child = command.spawn();
    const writer = child.stdin.getWriter();
    await writer.write(await Deno.readFile(input));
    await writer.close();
    const { stdout } = await child.output();
    const outs = JSON.parse(new TextDecoder().decode(stdout)) as Record<string, unknown>[];
    const out: Record<string, unknown> = {};
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i]!;
      const o = outs[i]!;
      const entry = (out[c.name] ??= { analysis: null, variants: {} }) as {
        analysis: unknown;
        variants: Record<string, unknown>;
      };
      if (c.analysis) entry.analysis = o.analysis ?? null;
      if (typeof o.error === "string") {
        entry.variants[c.variant] = { error: o.error };
        continue;
      }
      entry.variants[c.variant] = {
        now: o.now,
        prompt_sha256: await sha256(o.prompt as string),
        generation_prompt: o.generation_prompt,
        grammar_sha256: await sha256(canonicalGrammar(o.grammar as string)),
        grammar_lazy: o.grammar_lazy,
        grammar_triggers: o.grammar_triggers,
        preserved_tokens: o.preserved_tokens,
        additional_stops: o.additional_stops,
        supports_thinking: o.supports_thinking,
        thinking_start_tag: o.thinking_start_tag,
        thinking_end_tags: o.thinking_end_tags,
      };
    }
    return out;
  } finally {
    await Deno.remove(input).catch(() => {});
  }
}

if (import.meta.main) {
  const src = await llamaSourceTree();
  const { reference, cases, jinja } = await tools();
  await Deno.mkdir(DATA, { recursive: true });
  const extracted = await testChatCases(cases, src);
  await Deno.writeTextFile(
    `${DATA}test_chat_cases.json`,
    JSON.stringify(extracted, null, 1) + "\n",
  );
  console.error(`chat_reference: ${extracted.length} test-chat.cpp cases`);
  const jinjaCases = await testChatCases(jinja, src);
  await Deno.writeTextFile(`${DATA}jinja_cases.json`, JSON.stringify(jinjaCases, null, 1) + "\n");
  console.error(`chat_reference: ${jinjaCases.length} test-jinja.cpp cases`);
  const gold = await golden(reference, src);
  await Deno.writeTextFile(`${DATA}apply_golden.json`, JSON.stringify(gold, null, 1) + "\n");
  console.error(`chat_reference: golden data of ${Object.keys(gold).length} templates`);
}
