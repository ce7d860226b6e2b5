/**
 * The structure of a template's output that the generic format is built from (upstream
 * `chat-diff-analyzer.cpp`, release v0.5.0): found by rendering the template with probe
 * conversations that differ in one thing (reasoning or not, a tool call or not, one argument or
 * two, ...) and reading the markers around what changed. Family files patch what the diffs get
 * wrong for their templates ({@linkcode TemplatePatch}), as upstream's workarounds do.
 *
 * @module
 */
import {
  afterCommonSuffix,
  calculateDiffSplit,
  type DiffSplit,
  pruneWhitespaceSegments,
  segmentizeMarkers,
  trimLeadingWhitespace,
  trimWhitespace,
  untilCommonPrefix,
} from "./diff_split.ts";
import type { Peg, PegBuilder } from "./peg_parser.ts";
import { taggedParse } from "./peg_parser.ts";
import {
  applyTemplate,
  type FormatInputs,
  type FormatTemplate,
  type TemplateCaps,
} from "./template_apply.ts";

/** How reasoning is marked (upstream reasoning_mode). */
export type ReasoningMode = "NONE" | "TAG_BASED" | "TOOLS_ONLY";

/** How content is marked (upstream content_mode). */
export type ContentMode = "PLAIN" | "ALWAYS_WRAPPED" | "WRAPPED_WITH_REASONING";

/** How tool calls are written (upstream tool_format). */
export type ToolMode = "NONE" | "JSON_NATIVE" | "TAG_WITH_JSON" | "TAG_WITH_TAGGED";

/** Where a call id goes in tagged formats (upstream call_id_position). */
export type CallIdPosition = "NONE" | "PRE_FUNC_NAME" | "BETWEEN_FUNC_AND_ARGS" | "POST_ARGS";

/** The markers of a template's tool calls (upstream analyze_tools, flattened). */
export interface ToolsAnalysis {
  mode: ToolMode;
  sectionStart: string;
  sectionEnd: string;
  perCallStart: string;
  perCallEnd: string;
  funNameIsKey: boolean;
  toolsArrayWrapped: boolean;
  openaiWrapperTrigger: boolean;
  functionField: string;
  nameField: string;
  argsField: string;
  idField: string;
  genIdField: string;
  parameterOrder: string[];
  namePrefix: string;
  nameSuffix: string;
  argsSeparator: string;
  close: string;
  argsStart: string;
  argsEnd: string;
  argNamePrefix: string;
  argNameSuffix: string;
  argValuePrefix: string;
  argValueSuffix: string;
  argSeparator: string;
  tolerateIntertagWhitespace: boolean;
  callIdPos: CallIdPosition;
  callIdPrefix: string;
  callIdSuffix: string;
}

/** A template's output structure (upstream autoparser after analyze_template). */
export interface TemplateAnalysis {
  userStart: string;
  assistantStart: string;
  reasoning: { mode: ReasoningMode; start: string; end: string };
  content: { mode: ContentMode; start: string; end: string; requiresNonnullContent: boolean };
  tools: ToolsAnalysis;
  preservedTokens: string[];
  additionalStops: string[];
}

/** No tool calls. */
export const NO_TOOLS: ToolsAnalysis = {
  mode: "NONE",
  sectionStart: "",
  sectionEnd: "",
  perCallStart: "",
  perCallEnd: "",
  funNameIsKey: false,
  toolsArrayWrapped: false,
  openaiWrapperTrigger: false,
  functionField: "function",
  nameField: "name",
  argsField: "arguments",
  idField: "",
  genIdField: "",
  parameterOrder: [],
  namePrefix: "",
  nameSuffix: "",
  argsSeparator: "",
  close: "",
  argsStart: "",
  argsEnd: "",
  argNamePrefix: "",
  argNameSuffix: "",
  argValuePrefix: "",
  argValueSuffix: "",
  argSeparator: "",
  tolerateIntertagWhitespace: false,
  callIdPos: "NONE",
  callIdPrefix: "",
  callIdSuffix: "",
};

/** An analysis: the fields given, the rest empty; preserved tokens from the markers when absent. */
export function analysis(fields: {
  userStart?: string;
  assistantStart?: string;
  reasoning?: Partial<TemplateAnalysis["reasoning"]>;
  content?: Partial<TemplateAnalysis["content"]>;
  tools?: Partial<ToolsAnalysis>;
  preservedTokens?: string[];
  additionalStops?: string[];
}): TemplateAnalysis {
  const out: TemplateAnalysis = {
    userStart: fields.userStart ?? "",
    assistantStart: fields.assistantStart ?? "",
    reasoning: { mode: "NONE", start: "", end: "", ...fields.reasoning },
    content: {
      mode: "PLAIN",
      start: "",
      end: "",
      requiresNonnullContent: false,
      ...fields.content,
    },
    tools: { ...NO_TOOLS, ...fields.tools },
    preservedTokens: [],
    additionalStops: fields.additionalStops ?? [],
  };
  out.preservedTokens = fields.preservedTokens ?? markerTokens(out);
  return out;
}

/** The trimmed, distinct markers of an analysis (upstream collect_preserved_tokens). */
export function markerTokens(a: TemplateAnalysis): string[] {
  const out: string[] = [];
  const add = (token: string) => {
    const t = token.trim();
    if (t !== "" && !out.includes(t)) out.push(t);
  };
  const t = a.tools;
  for (
    const token of [
      a.reasoning.start,
      a.reasoning.end,
      a.content.start,
      a.content.end,
      t.sectionStart,
      t.sectionEnd,
      t.perCallStart,
      t.perCallEnd,
      t.namePrefix,
      t.nameSuffix,
      t.argsSeparator,
      t.close,
      t.argsStart,
      t.argsEnd,
      t.argNamePrefix,
      t.argNameSuffix,
      t.argSeparator,
      t.argValuePrefix,
      t.argValueSuffix,
      t.callIdPrefix,
      t.callIdSuffix,
    ]
  ) add(token);
  return out;
}

/** A family's correction of the analysis of its templates (upstream's analyzer workarounds). */
export interface TemplatePatch {
  /** Which templates it corrects. */
  matches(source: string): boolean;
  /** Corrects `analysis` in place. */
  patch(analysis: TemplateAnalysis): void;
}

const FUN_FIRST = "FFF_FIRST_FUN_F";
const FUN_SECOND = "SSS_SECOND_FUN_S";
const ARG_FIRST = "AA_ARG_FST_AA";
const ARG_SECOND = "BB_ARG_SND_BB";
const USER_MSG = "U_USER_MSG Hello END_U";
const USER_MSG_TWO = "V_USER_MSG Hello END_V";
const ASSISTANT_MSG = "A_ASST_MSG I can help END_A";
const THINKING_CONTENT = "REASON_PART I am thinking END_R";
const CALL_ID_001 = "call00001";
const CALL_ID_002 = "call00002";
const CALL_ID_999 = "call99999";

const PARAMS_SCHEMA = {
  type: "object",
  properties: {
    [ARG_FIRST]: { type: "string", description: "First argument" },
    [ARG_SECOND]: { type: "string", description: "Second argument" },
  },
  required: [],
};

const PROBE_TOOLS = [
  {
    type: "function",
    function: { name: FUN_FIRST, description: "Test function foo", parameters: PARAMS_SCHEMA },
  },
  {
    type: "function",
    function: { name: FUN_SECOND, description: "Test function bar", parameters: PARAMS_SCHEMA },
  },
];

const USER = { role: "user", content: USER_MSG };

function toolCall(name: string, args: Record<string, unknown>, id = CALL_ID_001) {
  return { id, type: "function", function: { name, arguments: args } };
}

const CALL_ZERO_ARGS = toolCall(FUN_FIRST, {});
const CALL_ONE_ARG = toolCall(FUN_FIRST, { [ARG_FIRST]: "XXXX" });
const CALL_ONE_ARG_OTHER_VALUE = toolCall(FUN_FIRST, { [ARG_FIRST]: "YYYY" });
const CALL_OTHER_ARG = toolCall(FUN_FIRST, { [ARG_SECOND]: "YYYY" });
const CALL_FIRST = toolCall(FUN_FIRST, { [ARG_FIRST]: "XXXX", [ARG_SECOND]: "YYYY" });
const CALL_SECOND = toolCall(
  FUN_SECOND,
  { [ARG_FIRST]: "XXXX", [ARG_SECOND]: "YYYY" },
  CALL_ID_002,
);
const CALL_FIRST_ALT_ID = toolCall(
  FUN_FIRST,
  { [ARG_FIRST]: "XXXX", [ARG_SECOND]: "YYYY" },
  CALL_ID_999,
);

const assistantCalls = (calls: unknown[]) => ({
  role: "assistant",
  content: "",
  tool_calls: calls,
});

interface Probe {
  messages: unknown[];
  tools?: unknown[];
  addGenerationPrompt?: boolean;
  enableThinking?: boolean;
}

interface Comparison {
  diff: DiffSplit;
  a: string;
  b: string;
}

/** The analyzer of one template (upstream autoparser::analyze_template). */
class Analyzer {
  readonly #template: FormatTemplate;
  readonly a: TemplateAnalysis = analysis({});

  constructor(template: FormatTemplate) {
    this.#template = template;
  }

  /** Renders a probe (upstream autoparser::apply_template); null when the template throws. */
  #render(probe: Probe): string | null {
    const enableThinking = probe.enableThinking ?? true;
    const inputs: FormatInputs = {
      messages: probe.messages as Record<string, unknown>[],
      tools: [],
      toolChoice: "auto",
      parallelToolCalls: true,
      reasoningFormat: "auto",
      addGenerationPrompt: probe.addGenerationPrompt ?? false,
      continueFinalMessage: "none",
      continueMessage: null,
      enableThinking,
      now: new Date(),
      extraContext: { enable_thinking: enableThinking },
      addBos: false,
      addEos: false,
    };
    try {
      return applyTemplate(this.#template, inputs, probe.tools ? { tools: probe.tools } : {});
    } catch {
      return null;
    }
  }

  #compare(a: Probe, b: Partial<Probe>): Comparison | null {
    const outA = this.#render(a);
    const outB = this.#render({ ...a, ...b });
    if (outA === null || outB === null) return null;
    return { diff: calculateDiffSplit(outA, outB), a: outA, b: outB };
  }

  run(caps: TemplateCaps): TemplateAnalysis {
    this.#reasoningPresence();
    this.#thinkingEnabled();
    if (caps.supportsToolCalls) this.#reasoningScope();
    this.#content();
    if (caps.supportsToolCalls) this.#tools(caps);
    this.a.assistantStart = this.#assistantStart();
    this.a.userStart = this.#userStart();
    this.a.preservedTokens = markerTokens(this.a);
    return this.a;
  }

  // --- reasoning (upstream analyze_reasoning) ---

  #reasoningPresence(): void {
    const r = this.a.reasoning;
    const cmp = this.#compare(
      { messages: [USER, { role: "assistant", content: ASSISTANT_MSG }] },
      {
        messages: [USER, {
          role: "assistant",
          content: ASSISTANT_MSG,
          reasoning_content: THINKING_CONTENT,
        }],
      },
    );
    if (cmp === null) return;
    if (cmp.diff.right === "" || !cmp.diff.right.includes(THINKING_CONTENT)) return;
    let result = taggedParse(
      (p) =>
        p.seq(
          p.tag("pre", p.seq(p.marker(), p.space())),
          THINKING_CONTENT,
          p.tag("post", p.seq(p.space(), p.marker(), p.space())),
          p.rest(),
        ),
      cmp.b,
      true,
    );
    if (!result.ok) {
      result = taggedParse(
        (p) =>
          p.seq(
            THINKING_CONTENT,
            p.space(),
            p.optional(p.seq(p.tag("post", p.seq(p.marker(), p.space())), p.rest())),
          ),
        cmp.b,
        true,
      );
    }
    if (result.ok) {
      if (result.tags.pre !== "" && result.tags.post !== "") {
        r.mode = "TAG_BASED";
        r.start = result.tags.pre!;
        r.end = result.tags.post!;
      } else if (result.tags.post !== "") {
        r.mode = "TAG_BASED";
        r.end = result.tags.post!;
      }
    }
  }

  #thinkingEnabled(): void {
    const r = this.a.reasoning;
    const cmp = this.#compare(
      { messages: [USER], addGenerationPrompt: true, enableThinking: false },
      { enableThinking: true },
    );
    if (cmp === null) return;
    const { diff } = cmp;
    const left = trimWhitespace(diff.left);
    const right = trimWhitespace(diff.right);
    if (left === "" && diff.right !== "") {
      if (right !== "" && cmp.b.endsWith(right) && r.start === "") {
        r.start = diff.right;
        r.mode = "TAG_BASED";
      }
    } else if (right === "" && diff.left !== "") {
      if (left !== "" && cmp.a.endsWith(left) && r.end === "") {
        const seg = pruneWhitespaceSegments(segmentizeMarkers(cmp.a));
        if (seg.length >= 2 && seg.at(-1)!.value === left && seg.at(-2)!.type === "marker") {
          r.start = seg.at(-2)!.value;
        }
        r.end = diff.left;
        r.mode = "TAG_BASED";
      }
    } else if (left !== "" && right !== "") {
      // one output's tail may appear in the other with the reasoning markers after it
      for (let dir = 0; dir < 2; dir++) {
        const base = dir === 0 ? cmp.b : cmp.a;
        const extended = dir === 0 ? cmp.a : cmp.b;
        const len = Math.min(base.length, 64);
        const anchor = base.slice(base.length - len);
        const pos = extended.lastIndexOf(anchor);
        if (pos < 0 || pos + len >= extended.length) continue;
        const extra = trimWhitespace(extended.slice(pos + len));
        if (extra === "") continue;
        const seg = pruneWhitespaceSegments(segmentizeMarkers(extra));
        if (seg.length === 2 && seg[0]!.type === "marker" && seg[1]!.type === "marker") {
          if (r.start === "") r.start = seg[0]!.value;
          if (r.end === "") r.end = seg[1]!.value;
          r.mode = "TAG_BASED";
          break;
        }
      }
    }
    if (r.mode === "NONE" && r.start === "" && r.end !== "") r.mode = "TAG_BASED";
  }

  #reasoningScope(): void {
    const r = this.a.reasoning;
    const cmp = this.#compare(
      {
        messages: [USER, {
          role: "assistant",
          content: ASSISTANT_MSG,
          reasoning_content: THINKING_CONTENT,
        }],
        tools: PROBE_TOOLS,
      },
      {
        messages: [USER, {
          role: "assistant",
          content: null,
          reasoning_content: THINKING_CONTENT,
          tool_calls: [toolCall(FUN_FIRST, { [ARG_FIRST]: "VVVV", [ARG_SECOND]: "XXXX" })],
        }],
      },
    );
    if (cmp === null) return;
    if (cmp.a.includes(THINKING_CONTENT) || !cmp.b.includes(THINKING_CONTENT)) return;
    r.mode = "TOOLS_ONLY";
    let result = taggedParse(
      (p) =>
        p.seq(
          p.tag("pre", p.seq(p.marker(), p.space())),
          THINKING_CONTENT,
          p.space(),
          p.tag("post", p.seq(p.marker(), p.space())),
        ),
      cmp.b,
      true,
    );
    if (result.ok) {
      r.start = result.tags.pre!;
      r.end = result.tags.post!;
      return;
    }
    result = taggedParse(
      (p) =>
        p.seq(THINKING_CONTENT, p.space(), p.optional(p.tag("post", p.seq(p.marker(), p.space())))),
      cmp.b,
      true,
    );
    if (result.ok) r.end = result.tags.post!;
    else r.mode = "NONE";
  }

  // --- content (upstream analyze_content) ---

  #content(): void {
    const c = this.a.content;
    const r = this.a.reasoning;
    const base: Probe = {
      messages: [USER, { role: "assistant", content: ASSISTANT_MSG }],
      tools: PROBE_TOOLS,
    };
    const withTools = this.#compare(base, {
      messages: [USER, assistantCalls([toolCall("test_func", { arg1: "value1" })])],
    });
    const withReasoning = this.#compare(base, {
      messages: [USER, { role: "assistant", content: "", reasoning_content: THINKING_CONTENT }],
    });
    if (withTools === null || withReasoning === null) return;
    const dt = withTools.diff;
    const dr = withReasoning.diff;
    let plain = false;
    if (trimWhitespace(dt.left) === ASSISTANT_MSG) {
      if (
        taggedParse(
          (p) => p.seq(p.space(), dr.left, p.space(), p.optional(p.marker()), p.space(), p.end()),
          dr.left,
        ).ok
      ) {
        c.mode = "PLAIN";
        plain = true;
      } else if (r.mode !== "NONE" && r.end !== "") {
        if (taggedParse((p) => p.seq(r.end, p.space(), ASSISTANT_MSG), dr.left, true).ok) {
          c.mode = "PLAIN";
          plain = true;
        }
      }
    }
    if (!plain) {
      let rdiff = dr.left;
      if (r.end !== "" && rdiff.includes(r.end)) {
        rdiff = rdiff.slice(rdiff.indexOf(r.end) + r.end.length);
      }
      const pure = rdiff.length > dt.left.length ? rdiff : dt.left;
      const result = taggedParse(
        (p) =>
          p.seq(
            p.tag("pre", p.seq(p.marker(), p.space())),
            ASSISTANT_MSG,
            p.space(),
            p.tag("post", p.seq(p.marker(), p.space())),
            p.rest(),
          ),
        pure,
        true,
      );
      c.start = result.tags.pre!;
      c.end = result.tags.post!;
    }
    if (c.start !== "" || c.end !== "") c.mode = "ALWAYS_WRAPPED";
  }

  // --- tools (upstream analyze_tools) ---

  #tools(caps: TemplateCaps): void {
    const t = this.a.tools;
    this.#toolCalls(caps.supportsParallelToolCalls);
    if (t.mode !== "NONE" && t.mode !== "JSON_NATIVE") {
      if (caps.supportsParallelToolCalls) this.#perCallMarkers();
      this.#functionMarkers();
      if (t.mode === "TAG_WITH_TAGGED") {
        this.#argumentNameMarkers();
        this.#argumentValueMarkers();
      }
      this.#argumentSeparator();
      this.#argsMarkers();
      this.#callIdMarkers();
    }
  }

  #toolCalls(parallel: boolean): void {
    const t = this.a.tools;
    const cmp = this.#compare(
      { messages: [USER, { role: "assistant", content: ASSISTANT_MSG }], tools: PROBE_TOOLS },
      { messages: [USER, assistantCalls([CALL_FIRST])] },
    );
    if (cmp === null) return;
    const haystack = cmp.diff.right;
    if (haystack === "") return;
    const inJson = (needle: string) =>
      taggedParse(
        (p) => p.spaced(p.choice("{", ":"), p.choice(p.tag("dq", p.seq('"', needle, '"')))),
        haystack,
        true,
      ).ok;
    if (inJson(FUN_FIRST)) t.mode = "JSON_NATIVE";
    else if (inJson(ARG_FIRST)) t.mode = "TAG_WITH_JSON";
    else t.mode = "TAG_WITH_TAGGED";
    let clean = haystack;
    const r = this.a.reasoning;
    if (r.start !== "") {
      const at = haystack.indexOf(r.start);
      if (at >= 0) clean = haystack.slice(0, at) + haystack.slice(at + r.start.length);
    }
    if (r.end !== "") {
      const at = clean.indexOf(r.end);
      if (at >= 0) clean = clean.slice(0, at) + clean.slice(at + r.end.length);
    }
    if (t.mode === "JSON_NATIVE") {
      this.#jsonNative(clean);
      if (parallel) this.#jsonNativeParallel();
    } else {
      this.#nonJson(clean);
    }
    t.sectionEnd = trimWhitespace(t.sectionEnd);
    t.perCallEnd = trimWhitespace(t.perCallEnd);
  }

  #jsonNativeParallel(): void {
    const t = this.a.tools;
    const cmp = this.#compare(
      { messages: [USER, assistantCalls([CALL_FIRST])], tools: PROBE_TOOLS },
      { messages: [USER, assistantCalls([CALL_FIRST, CALL_SECOND])] },
    );
    if (cmp === null) return;
    if (t.sectionStart !== "" && cmp.diff.right.includes(t.sectionStart)) {
      t.perCallStart = t.sectionStart;
      t.perCallEnd = t.sectionEnd;
      t.sectionStart = "";
      t.sectionEnd = "";
    }
  }

  #jsonNative(clean: string): void {
    const t = this.a.tools;
    let jsonStart = clean.indexOf("{");
    let jsonEnd = clean.lastIndexOf("}");
    const cut = clean.slice(jsonStart, jsonEnd + 1);
    let call: Record<string, unknown>;
    try {
      call = JSON.parse(cut);
    } catch {
      return;
    }
    const register = (prefix: string, key: string, value: unknown) => {
      const name = prefix !== "" ? `${prefix}.${key}` : key;
      if (typeof value === "string" && value.includes("call0000")) t.idField = name;
      else if (typeof value === "string" && value === FUN_FIRST) t.nameField = name;
      else if (JSON.stringify(value).includes(ARG_FIRST)) t.argsField = name;
      else if (key.includes("id")) t.genIdField = name;
    };
    for (const [key, value] of Object.entries(call)) {
      if (key === FUN_FIRST) {
        t.funNameIsKey = true;
        t.nameField = "";
        t.argsField = "";
      } else {
        if (
          value !== null && typeof value === "object" && !Array.isArray(value) &&
          !JSON.stringify(value).includes(ARG_FIRST)
        ) {
          t.functionField = key;
          for (const [k, v] of Object.entries(value)) register(key, k, v);
        }
        register("", key, value);
      }
    }
    const array = taggedParse(
      (p) => p.seq(p.tag("pre", p.seq("[", p.space())), cut, p.tag("post", p.seq(p.space(), "]"))),
      clean,
      true,
    );
    if (array.ok) {
      t.toolsArrayWrapped = true;
      jsonStart -= array.tags.pre!.length;
      jsonEnd += array.tags.post!.length;
    }
    jsonEnd++;
    const located: [number, string][] = [];
    for (const field of [t.nameField, t.argsField, t.idField, t.genIdField]) {
      if (field !== "") located.push([clean.indexOf(field) >>> 0, field]);
    }
    located.sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0));
    t.parameterOrder = located.map(([, field]) => field);
    t.sectionStart = trimLeadingWhitespace(clean.slice(0, jsonStart));
    t.sectionEnd = trimWhitespace(clean.slice(jsonEnd));
    if (t.toolsArrayWrapped && t.sectionEnd === "]") t.sectionEnd = "";
  }

  #nonJson(clean: string): void {
    const t = this.a.tools;
    const fun = taggedParse(
      (p) =>
        p.tag(
          "fun_marker",
          p.choice(
            p.seq(
              p.tag("fun_pre", p.seq("<", p.until(">", FUN_FIRST))),
              FUN_FIRST,
              p.tag("fun_post", p.seq(p.negate(p.seq(p.space(), "<")), p.until(">"), ">")),
              p.space(),
            ),
            p.seq(
              p.tag("fun_pre", p.seq("[", p.until("]", FUN_FIRST))),
              FUN_FIRST,
              p.tag(
                "fun_post",
                p.seq(p.negate(p.seq(p.space(), "[", p.until("]"), "]")), p.space()),
              ),
            ),
          ),
        ),
      clean,
      true,
    );
    const funMarker = fun.ok ? fun.tags.fun_marker! : FUN_FIRST;
    let result = taggedParse(
      (p) =>
        p.seq(
          p.tag("sec_start", p.seq(p.marker(), p.space())),
          p.tag("call_start", p.seq(p.marker(), p.space())),
          p.tag("fun_pre", p.until(funMarker)),
          funMarker,
          p.tag("rest", p.rest()),
        ),
      clean,
      true,
    );
    let end;
    if (result.ok) {
      end = taggedParse(
        (p) =>
          p.seq(
            p.tag("call_end", p.seq(p.marker(), p.space())),
            p.tag("sec_end", p.seq(p.marker(), p.space())),
            p.end(),
          ),
        result.tags.rest!,
        true,
      );
      t.namePrefix = fun.tags.fun_pre! + t.namePrefix;
    } else {
      result = taggedParse(
        (p) =>
          p.seq(
            p.tag("sec_start", p.seq(p.marker(), p.space())),
            funMarker,
            p.tag("rest", p.rest()),
          ),
        clean,
        true,
      );
      end = taggedParse(
        (p) => p.seq(p.tag("sec_end", p.seq(p.marker(), p.space())), p.end()),
        result.tags.rest!,
        true,
      );
    }
    t.perCallStart = result.tags.call_start!;
    t.perCallEnd = end.tags.call_end!;
    t.sectionStart = result.tags.sec_start!;
    t.sectionEnd = end.tags.sec_end!;
  }

  #perCallMarkers(): void {
    const t = this.a.tools;
    const cmp = this.#compare(
      { messages: [USER, assistantCalls([CALL_FIRST])], tools: PROBE_TOOLS },
      { messages: [USER, assistantCalls([CALL_FIRST, CALL_SECOND])] },
    );
    if (cmp === null) return;
    const common = calculateDiffSplit(cmp.diff.suffix, cmp.diff.right);
    const second = trimLeadingWhitespace(common.right);
    if (t.sectionStart !== "" && second.startsWith(t.sectionStart)) {
      t.perCallStart = t.sectionStart;
      t.perCallEnd = t.sectionEnd;
      t.sectionStart = "";
      t.sectionEnd = "";
    }
    if (t.perCallEnd !== "") {
      const count = (s: string) => s.split(t.perCallEnd).length - 1;
      const one = count(cmp.a);
      if (one > 0 && one === count(cmp.b)) {
        t.sectionEnd = t.perCallEnd;
        t.perCallEnd = "";
      }
    }
  }

  #functionMarkers(): void {
    const t = this.a.tools;
    const base: Probe = { messages: [USER, assistantCalls([CALL_FIRST])], tools: PROBE_TOOLS };
    const cmp = this.#compare(base, { messages: [USER, assistantCalls([CALL_SECOND])] });
    if (cmp === null) return;
    const { diff } = cmp;
    if (!diff.left.includes(FUN_FIRST) || !diff.right.includes(FUN_SECOND)) return;
    const prefixMarker = t.perCallStart !== "" ? t.perCallStart : t.sectionStart;
    if (prefixMarker !== "" && diff.prefix.lastIndexOf(prefixMarker) >= 0) {
      t.namePrefix = diff.prefix.slice(diff.prefix.lastIndexOf(prefixMarker) + prefixMarker.length);
    }
    const name = taggedParse(
      (p) =>
        p.seq(
          p.tag("pre", p.until(FUN_FIRST)),
          FUN_FIRST,
          p.tag("post", p.zeroOrMore(p.seq(p.negate(p.marker()), p.any()))),
        ),
      diff.left,
    );
    if (name.ok) {
      t.namePrefix += name.tags.pre!;
      t.nameSuffix = name.tags.post!;
    }
    if (t.mode === "TAG_WITH_JSON") {
      const suffix = taggedParse((p) => {
        const nonJson = p.choice(p.marker(), p.seq(p.negate("{"), p.negate("["), p.any()));
        const afterJson = p.seq(p.zeroOrMore(p.seq(p.negate(p.marker()), p.any())), p.marker());
        return p.seq(p.tag("ext", p.zeroOrMore(nonJson)), afterJson);
      }, diff.suffix);
      if (suffix.ok) t.nameSuffix += suffix.tags.ext!;
    } else {
      const suffix = taggedParse(
        (p) => p.tag("ext", p.zeroOrMore(p.seq(p.negate(p.marker()), p.any()))),
        diff.suffix,
      );
      if (suffix.ok) {
        t.nameSuffix += suffix.tags.ext!;
        const argStart = (p: PegBuilder): Peg =>
          p.seq(p.marker(), p.space(), p.choice(ARG_FIRST, ARG_SECOND));
        const sep = taggedParse(
          (p) =>
            p.seq(p.tag("sep", p.zeroOrMore(p.seq(p.negate(argStart(p)), p.any()))), argStart(p)),
          diff.suffix.slice(suffix.tags.ext!.length),
        );
        if (sep.ok) t.argsSeparator = trimWhitespace(sep.tags.sep!);
      }
    }
    const suffixMarker = t.perCallEnd !== "" ? t.perCallEnd : t.sectionEnd;
    let closer = "";
    if (suffixMarker === "") {
      const noTool = this.#compare(base, {
        messages: [USER, { role: "assistant", content: ASSISTANT_MSG }],
      });
      if (noTool !== null) {
        const at = noTool.diff.left.indexOf("YYYY");
        closer = noTool.diff.left.slice(at < 0 ? 3 : at + 4);
      }
    } else {
      const at = diff.suffix.indexOf(suffixMarker);
      closer = at < 0 ? diff.suffix : diff.suffix.slice(0, at);
    }
    if (closer !== "") {
      if (t.mode === "TAG_WITH_TAGGED") {
        const close = taggedParse(
          (p) =>
            p.seq(
              p.until("YYYY"),
              "YYYY",
              p.space(),
              p.marker(),
              p.space(),
              p.tag("close", p.rest()),
            ),
          closer,
        );
        if (close.ok) t.close = close.tags.close!;
      } else if (t.mode === "TAG_WITH_JSON") {
        const close = taggedParse(
          (p) => p.seq(p.until("YYYY"), "YYYY", p.tag("post_val", p.rest())),
          closer,
        );
        if (close.ok) {
          const post = close.tags.post_val!;
          const pos = Math.max(post.lastIndexOf("}"), post.lastIndexOf("]"));
          if (pos >= 0 && pos < post.length - 1) {
            t.close = trimLeadingWhitespace(post.slice(pos + 1));
          }
        }
      }
    }
    t.close = trimLeadingWhitespace(t.close);
  }

  #argumentNameMarkers(): void {
    const t = this.a.tools;
    const cmp = this.#compare(
      { messages: [USER, assistantCalls([CALL_ONE_ARG])], tools: PROBE_TOOLS },
      { messages: [USER, assistantCalls([CALL_OTHER_ARG])] },
    );
    if (cmp === null) return;
    const { diff } = cmp;
    if (diff.left === "" || diff.right === "") return;
    const left = taggedParse(
      (p) => p.seq(p.tag("pre", p.until(ARG_FIRST)), ARG_FIRST, p.tag("suffix", p.until('"', "X"))),
      diff.left,
      true,
    );
    const right = taggedParse(
      (p) =>
        p.seq(p.tag("pre", p.until(ARG_SECOND)), ARG_SECOND, p.tag("suffix", p.until('"', "Y"))),
      diff.right,
      true,
    );
    if (
      left.ok && right.ok && left.tags.pre !== "" && left.tags.pre === right.tags.pre &&
      left.tags.suffix === right.tags.suffix
    ) {
      t.argNamePrefix = left.tags.pre!;
      t.argNameSuffix = left.tags.suffix!;
    } else if (diff.left.startsWith(ARG_FIRST) && diff.right.startsWith(ARG_SECOND)) {
      const pre = taggedParse((p) => {
        const last = p.seq(p.marker(), p.zeroOrMore(p.seq(p.negate(p.marker()), p.any())), p.end());
        return p.seq(p.zeroOrMore(p.seq(p.negate(last), p.any())), p.tag("name_prefix", last));
      }, diff.prefix);
      t.argNamePrefix = pre.ok ? pre.tags.name_prefix! : diff.prefix;
      const after = diff.left.slice(ARG_FIRST.length) + diff.suffix;
      const suffix = taggedParse(
        (p) =>
          p.tag(
            "suffix",
            p.seq(p.zeroOrMore(p.seq(p.negate(p.marker()), p.any())), p.marker(), p.space()),
          ),
        after,
        true,
      );
      if (suffix.ok) t.argNameSuffix = suffix.tags.suffix!;
    }
  }

  #argumentValueMarkers(): void {
    const t = this.a.tools;
    const cmp = this.#compare(
      { messages: [USER, assistantCalls([CALL_ONE_ARG])], tools: PROBE_TOOLS },
      { messages: [USER, assistantCalls([CALL_ONE_ARG_OTHER_VALUE])] },
    );
    if (cmp === null) return;
    const { diff } = cmp;
    if (diff.left !== "XXXX" || diff.right !== "YYYY") return;
    const ending = ARG_FIRST + t.argNameSuffix;
    let prefix = diff.prefix;
    if (prefix.lastIndexOf(ending) >= 0) {
      prefix = prefix.slice(prefix.lastIndexOf(ending) + ending.length);
    }
    if (prefix !== "") {
      const pre = taggedParse((p) => {
        const last = p.seq(p.marker(), p.zeroOrMore(p.seq(p.negate(p.marker()), p.any())), p.end());
        return p.seq(p.zeroOrMore(p.seq(p.negate(last), p.any())), p.tag("val_prefix", last));
      }, prefix);
      t.argValuePrefix = pre.ok ? pre.tags.val_prefix! : prefix;
    }
    let suffix = diff.suffix;
    if (t.close !== "") {
      const at = suffix.indexOf(t.close);
      if (at >= 0) suffix = suffix.slice(0, at);
    } else if (t.perCallEnd !== "" || t.sectionEnd !== "") {
      const end = t.perCallEnd !== "" ? t.perCallEnd : t.sectionEnd;
      const at = suffix.indexOf(end);
      if (at >= 0) suffix = suffix.slice(0, at);
    }
    if (trimWhitespace(suffix) !== "") t.argValueSuffix = suffix;
  }

  #argumentSeparator(): void {
    const cmp = this.#compare(
      { messages: [USER, assistantCalls([CALL_ONE_ARG])], tools: PROBE_TOOLS },
      { messages: [USER, assistantCalls([CALL_FIRST])] },
    );
    if (cmp === null) return;
    if (cmp.diff.right !== "") {
      this.a.tools.argSeparator = untilCommonPrefix(cmp.diff.right, ARG_FIRST, ARG_SECOND);
    }
  }

  #argsMarkers(): void {
    const t = this.a.tools;
    const cmp = this.#compare(
      { messages: [USER, assistantCalls([CALL_ZERO_ARGS])], tools: PROBE_TOOLS },
      { messages: [USER, assistantCalls([CALL_ONE_ARG])] },
    );
    if (cmp === null || t.mode !== "JSON_NATIVE") return;
    const { diff } = cmp;
    const prefixMarker = t.sectionStart !== "" ? t.sectionStart : t.perCallStart;
    const suffixMarker = t.sectionEnd !== "" ? t.sectionEnd : t.perCallEnd;
    let prefixPos = prefixMarker === "" ? 0 : diff.prefix.lastIndexOf(prefixMarker);
    let suffixPos = suffixMarker === "" ? diff.suffix.length : diff.suffix.indexOf(suffixMarker);
    if (prefixPos < 0) prefixPos = 0;
    if (suffixPos < 0) suffixPos = diff.suffix.length;
    const prefixCut = diff.prefix.slice(prefixPos + prefixMarker.length);
    const suffixCut = diff.suffix.slice(0, suffixPos);
    let start = untilCommonPrefix(prefixCut, "{}", '{"first":');
    const end = afterCommonSuffix(suffixCut, "{}", '"XXXX"}');
    if (start !== "" || end !== "") {
      const fun = start.indexOf(FUN_FIRST);
      if (fun >= 0) start = start.slice(fun + FUN_FIRST.length);
      const id = start.indexOf(CALL_ID_001);
      if (id >= 0) start = start.slice(id + CALL_ID_001.length);
      t.argsStart = start;
      t.argsEnd = end;
    }
  }

  #callIdMarkers(): void {
    const t = this.a.tools;
    const cmp = this.#compare(
      { messages: [USER, assistantCalls([CALL_FIRST])], tools: PROBE_TOOLS },
      { messages: [USER, assistantCalls([CALL_FIRST_ALT_ID])] },
    );
    if (cmp === null) return;
    const { diff } = cmp;
    if (diff.left === "" && diff.right === "") return;
    let common = 0;
    while (common < CALL_ID_001.length && CALL_ID_001[common] === CALL_ID_999[common]) common++;
    const commonId = CALL_ID_001.slice(0, common);
    const inPrefix = diff.prefix.lastIndexOf(FUN_FIRST);
    const inSuffix = diff.suffix.indexOf(FUN_FIRST);
    const lastMarker = (s: string) => {
      const res = taggedParse(
        (p) => {
          const last = p.seq(
            p.marker(),
            p.zeroOrMore(p.seq(p.negate(p.marker()), p.any())),
            p.end(),
          );
          return p.seq(p.zeroOrMore(p.seq(p.negate(last), p.any())), p.tag("m", p.marker()));
        },
        s,
        true,
      );
      return res.ok ? res.tags.m! : "";
    };
    const firstMarker = (s: string) => {
      const res = taggedParse((p) => p.tag("m", p.marker()), s, true);
      return res.ok ? res.tags.m! : "";
    };
    if (inPrefix >= 0 && inSuffix < 0) {
      const argsInPrefix = diff.prefix.indexOf("{", inPrefix);
      const argsInSuffix = diff.suffix.indexOf("{");
      if (argsInSuffix >= 0 && argsInPrefix < 0) {
        t.callIdPos = "BETWEEN_FUNC_AND_ARGS";
        const afterFunc = diff.prefix.slice(inPrefix + FUN_FIRST.length);
        const id = taggedParse(
          (p) =>
            p.seq(
              p.tag("prefix", p.marker()),
              p.zeroOrMore(p.seq(p.negate(p.marker()), p.negate(commonId), p.any())),
              commonId,
            ),
          afterFunc,
          true,
        );
        t.callIdPrefix = id.ok ? id.tags.prefix! : lastMarker(afterFunc);
        const suffix = taggedParse(
          (p) =>
            p.seq(
              p.zeroOrMore(p.seq(p.negate(p.marker()), p.negate("{"), p.any())),
              p.tag("suffix", p.marker()),
            ),
          diff.suffix,
          true,
        );
        if (suffix.ok) t.callIdSuffix = suffix.tags.suffix!;
      } else if (argsInPrefix >= 0) {
        t.callIdPos = "POST_ARGS";
        const afterArgs = diff.prefix.slice(argsInPrefix);
        const brace = afterArgs.lastIndexOf("}");
        if (brace >= 0) t.callIdPrefix = lastMarker(afterArgs.slice(brace + 1));
        t.callIdSuffix = firstMarker(diff.suffix);
      }
    } else if (inSuffix >= 0 && inPrefix < 0) {
      t.callIdPos = "PRE_FUNC_NAME";
      t.callIdPrefix = lastMarker(diff.prefix);
      t.callIdSuffix = firstMarker(diff.suffix.slice(0, inSuffix));
    }
    if (t.callIdPrefix === t.argsEnd) t.callIdPrefix = "";
    if (t.callIdSuffix === t.argsStart) t.callIdSuffix = "";
    if (
      t.callIdPos !== "NONE" && t.callIdSuffix !== "" && t.perCallEnd.startsWith(t.callIdSuffix)
    ) {
      t.perCallEnd = "";
    }
  }

  // --- turn markers ---

  #assistantStart(): string {
    const r = this.a.reasoning;
    const cmp = this.#compare(
      { messages: [USER] },
      { messages: [USER, { role: "assistant", content: ASSISTANT_MSG }] },
    );
    if (cmp === null) return "";
    const msg = cmp.diff.right;
    const at = msg.indexOf(ASSISTANT_MSG);
    let prefix = at < 0 ? msg : msg.slice(0, at);
    const start = trimWhitespace(r.start);
    const end = trimWhitespace(r.end);
    if (r.start !== "" && prefix.includes(start)) prefix = prefix.slice(0, prefix.indexOf(start));
    if (r.end !== "" && prefix.includes(end)) prefix = prefix.slice(0, prefix.indexOf(end));
    return trimWhitespace(prefix);
  }

  #userStart(): string {
    let cmp = this.#compare({ messages: [] }, { messages: [USER] });
    if (cmp === null) {
      const assistant = { role: "assistant", content: ASSISTANT_MSG };
      const two = { role: "user", content: USER_MSG_TWO };
      cmp = this.#compare({ messages: [two, assistant] }, { messages: [two, assistant, USER] });
      if (cmp === null) return "";
    }
    let msg = cmp.diff.right;
    if (msg.includes(ASSISTANT_MSG)) {
      msg = msg.slice(msg.indexOf(ASSISTANT_MSG) + ASSISTANT_MSG.length);
    }
    const at = msg.indexOf(USER_MSG);
    const candidate = at < 0 ? msg : msg.slice(0, at);
    let out = "";
    let marker = false;
    for (const seg of segmentizeMarkers(candidate)) {
      const lower = seg.value.toLowerCase();
      if (seg.type === "marker" && !marker && (lower.includes("end") || lower.includes("close"))) {
        continue;
      }
      if (seg.type === "text" && !marker && trimWhitespace(seg.value) === "") continue;
      if (seg.type === "marker") marker = true;
      out += seg.value;
    }
    return trimWhitespace(out);
  }
}

const analyses = new WeakMap<FormatTemplate, TemplateAnalysis>();

/**
 * The output structure of `template` (upstream autoparser::analyze_template), corrected by the
 * first of `patches` that matches it... and every other that does, in order. Kept per template.
 */
export function analyzeTemplate(
  template: FormatTemplate,
  patches: readonly TemplatePatch[],
): TemplateAnalysis {
  let found = analyses.get(template);
  if (found) return found;
  found = new Analyzer(template).run(template.caps);
  for (const p of patches) if (p.matches(template.source)) p.patch(found);
  analyses.set(template, found);
  return found;
}
