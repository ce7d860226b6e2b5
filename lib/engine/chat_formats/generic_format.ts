/**
 * The generic chat format (upstream `chat-auto-parser-generator.cpp`): from a template's
 * {@linkcode TemplateAnalysis}, the parser of its output (optional reasoning, content, then tool
 * calls as JSON objects, tagged calls with JSON arguments, or tagged calls with tagged arguments),
 * the grammar that constrains the calls, lazily behind the first marker when the model may
 * also answer in text, and the params of a request.
 *
 * @module
 */
import { buildChatParser, ChatPegBuilder, toolParameters } from "./chat_peg_builder.ts";
import type { ChatParams } from "./chat_params.ts";
import type { Peg } from "./peg_parser.ts";
import {
  applyTemplate,
  contentBeforeCalls,
  type FormatInputs,
  type FormatTemplate,
  renderContent,
  templateGenerationPrompt,
} from "./template_apply.ts";
import type { TemplateAnalysis, ToolsAnalysis } from "./template_analysis.ts";
import { parseSchemaDocument, schemaMayBeString } from "../json_schema_to_grammar.ts";

interface BuildContext {
  p: ChatPegBuilder;
  inputs: FormatInputs;
  reasoningParser: Peg;
  extractingReasoning: boolean;
  analysis: TemplateAnalysis;
}

function contentAlwaysWrapped(a: TemplateAnalysis): boolean {
  return a.content.mode === "ALWAYS_WRAPPED" && a.content.start !== "" && a.content.end !== "";
}

function reasoningParser(ctx: BuildContext): Peg {
  const { p, analysis: a } = ctx;
  if (!ctx.extractingReasoning) return p.eps();
  const r = a.reasoning;
  if ((r.mode === "TAG_BASED" || r.mode === "TOOLS_ONLY") && r.end !== "") {
    if (r.start !== "") {
      return p.optional(
        p.seq(p.optspace(r.start), p.reasoning(p.until(r.end.trim())), p.optspace(r.end)),
      );
    }
    return p.optional(p.seq(p.reasoning(p.until(r.end.trim())), p.optspace(r.end)));
  }
  return p.eps();
}

function contentParser(ctx: BuildContext): Peg {
  const { p, analysis: a } = ctx;
  if (contentAlwaysWrapped(a)) {
    const { start, end } = a.content;
    if (ctx.extractingReasoning) {
      return p.seq(ctx.reasoningParser, start, p.content(p.until(end)), end, p.end());
    }
    return p.seq(p.content(p.until(start)), start, p.content(p.until(end)), end, p.end());
  }
  return p.seq(ctx.reasoningParser, p.content(p.rest()), p.end());
}

function optionalWrappedContent(ctx: BuildContext): Peg {
  const { p, analysis: a } = ctx;
  if (contentAlwaysWrapped(a)) {
    return p.optional(p.seq(a.content.start, p.content(p.until(a.content.end)), a.content.end));
  }
  return p.eps();
}

function jsonNativeTools(ctx: BuildContext): Peg {
  const { p, inputs, analysis: a } = ctx;
  const t = a.tools;
  let nameField = t.nameField;
  let argsField = t.argsField;
  if (t.functionField !== "" && t.functionField !== "function" && !nameField.includes(".")) {
    nameField = `${t.functionField}.${nameField}`;
    argsField = `${t.functionField}.${argsField}`;
  }
  const force = inputs.toolChoice === "required";
  const common = {
    tools: inputs.tools,
    parallel: inputs.parallelToolCalls,
    force,
    nameKey: nameField,
    argsKey: argsField,
    arrayWrapped: t.toolsArrayWrapped,
    functionIsKey: t.funNameIsKey,
    callIdKey: t.idField,
    genCallIdKey: t.genIdField,
    parametersOrder: t.parameterOrder,
    acceptOpenaiWrapper: t.openaiWrapperTrigger,
  };
  let tools: Peg;
  if (t.sectionStart === "" && t.perCallStart !== "") {
    const single = p.standardJsonTools({
      ...common,
      sectionStart: t.perCallStart,
      sectionEnd: t.perCallEnd,
    });
    // one block per call; a named tool (our extension) is called once
    const once = inputs.immediateCall && inputs.toolChoice === "required" &&
      !inputs.parallelToolCalls;
    tools = p.triggerRule(
      "tool-calls",
      once ? p.seq(single, p.space()) : p.oneOrMore(p.seq(single, p.space())),
    );
  } else {
    tools = p.standardJsonTools({
      ...common,
      sectionStart: t.sectionStart,
      sectionEnd: t.sectionEnd,
    });
  }
  if (contentAlwaysWrapped(a)) {
    return p.seq(ctx.reasoningParser, optionalWrappedContent(ctx), tools, p.end());
  }
  const toolStart = t.sectionStart !== ""
    ? t.sectionStart
    : t.perCallStart !== ""
    ? t.perCallStart
    : "{";
  const before = contentBeforeCalls(inputs, p.optional(p.content(p.until(toolStart))), p.eps());
  return p.seq(ctx.reasoningParser, before, tools, p.end());
}

function funcParser(
  p: ChatPegBuilder,
  t: ToolsAnalysis,
  name: string,
  callIdSection: Peg,
  haveCallId: boolean,
  args: Peg,
  atomicPeek: Peg | null,
): Peg {
  let open = p.toolOpen(p.seq(t.namePrefix, p.toolName(name), t.nameSuffix));
  let matchedAtomic = false;
  let parser: Peg;
  if (t.argsSeparator !== "") open = p.seq(open, p.space(), t.argsSeparator);
  if (t.nameSuffix !== "") {
    parser = p.seq(open, callIdSection, p.space(), args);
    matchedAtomic = true;
  } else if (haveCallId) {
    parser = p.seq(p.atomic(p.seq(open, callIdSection)), p.space(), args);
    matchedAtomic = true;
  } else if (atomicPeek !== null) {
    parser = p.seq(p.atomic(p.seq(open, callIdSection, p.space(), atomicPeek)), args);
    matchedAtomic = true;
  } else {
    parser = p.seq(open, callIdSection, p.space(), args);
  }
  if (t.close !== "") {
    parser = p.seq(parser, p.space(), p.toolClose(p.literal(t.close)));
  } else if (t.perCallEnd !== "") {
    // close only where the end marker is in sight, not on a prefix of it
    const peek = t.tolerateIntertagWhitespace
      ? p.peek(p.seq(p.space(), t.perCallEnd))
      : p.peek(p.literal(t.perCallEnd));
    parser = p.seq(parser, p.toolClose(peek));
  } else {
    parser = p.seq(parser, p.toolClose(p.space()));
  }
  return matchedAtomic ? parser : p.atomic(parser);
}

function callIdSection(p: ChatPegBuilder, t: ToolsAnalysis, wrapSuffix: boolean): [Peg, boolean] {
  if (
    t.callIdPos === "BETWEEN_FUNC_AND_ARGS" && t.callIdPrefix !== "" &&
    (t.callIdSuffix !== "" || t.argsStart !== "")
  ) {
    if (t.callIdSuffix !== "") {
      const id = p.seq(t.callIdPrefix, p.toolId(p.until(t.callIdSuffix)));
      return wrapSuffix
        ? [p.optional(p.seq(id, t.callIdSuffix)), true]
        : [p.seq(p.optional(id), t.callIdSuffix), true];
    }
    return [p.optional(p.seq(t.callIdPrefix, p.toolId(p.until(t.argsStart)))), true];
  }
  return [p.eps(), false];
}

function tagJsonTools(ctx: BuildContext): Peg {
  const { p, inputs, analysis: a } = ctx;
  const t = a.tools;
  let choice = p.choice();
  for (const tool of inputs.tools) {
    const name = tool.function.name;
    const [idSection, haveId] = callIdSection(p, t, false);
    let args = p.toolArgs(p.schema(p.json(), `tool-${name}-schema`, toolParameters(tool.function)));
    if (t.argsStart !== "") args = p.seq(t.argsStart, args);
    if (t.argsEnd !== "") args = p.seq(args, t.argsEnd);
    const peek = t.argsStart !== "" ? p.peek(p.literal(t.argsStart)) : null;
    choice = p.choice(
      choice,
      p.rule(`tool-${name}`, funcParser(p, t, name, idSection, haveId, args, peek)),
    );
  }
  let calls: Peg;
  if (t.perCallStart !== "") {
    const wrapped = p.seq(t.perCallStart, choice, t.perCallEnd);
    calls = inputs.parallelToolCalls
      ? p.triggerRule("tool-call", p.seq(wrapped, p.zeroOrMore(p.seq(p.space(), wrapped))))
      : p.triggerRule("tool-call", wrapped);
    if (t.sectionStart !== "") {
      calls = p.triggerRule(
        "tool-calls",
        p.seq(
          t.sectionStart,
          p.space(),
          calls,
          p.space(),
          t.sectionEnd === "" ? p.end() : p.literal(t.sectionEnd),
        ),
      );
    }
  } else {
    calls = inputs.parallelToolCalls
      ? p.triggerRule(
        "tool-call",
        p.seq(t.sectionStart, choice, p.zeroOrMore(p.seq(", ", choice)), t.sectionEnd),
      )
      : p.triggerRule("tool-call", p.seq(t.sectionStart, choice, t.sectionEnd));
  }
  if (inputs.toolChoice !== "required") calls = p.optional(calls);
  const marker = t.sectionStart !== "" ? t.sectionStart : t.perCallStart;
  const before = marker === "" ? p.eps() : p.until(marker);
  return p.seq(
    ctx.reasoningParser,
    contentBeforeCalls(inputs, p.optional(p.content(before)), p.eps()),
    calls,
    p.end(),
  );
}

function tagTaggedTools(ctx: BuildContext): Peg {
  const { p, inputs, analysis: a } = ctx;
  const t = a.tools;
  const untilSuffix = p.rule("until-suffix", p.until(t.argValueSuffix));
  let choice = p.choice();
  for (const tool of inputs.tools) {
    const name = tool.function.name;
    const doc = parseSchemaDocument(toolParameters(tool.function));
    const required: Peg[] = [];
    const optional: Peg[] = [];
    for (const param of doc.properties) {
      const open = p.toolArgOpen(
        p.seq(t.argNamePrefix, p.toolArgName(param.name), t.argNameSuffix),
      );
      const value = schemaMayBeString(param.schema)
        ? p.ac(
          p.seq(p.toolArgStringValue(untilSuffix), p.toolArgClose(p.literal(t.argValueSuffix))),
          t.argValueSuffix,
        )
        : p.seq(
          p.toolArgJsonValue(
            p.schemaNode(p.json(), `tool-${name}-arg-${param.name}-schema`, param.schema),
          ),
          p.toolArgClose(p.literal(t.argValueSuffix)),
        );
      const arg = p.rule(
        `tool-${name}-arg-${param.name}`,
        p.toolArg(p.seq(open, t.argValuePrefix, value)),
      );
      (param.required ? required : optional).push(arg);
    }
    let args = p.eps();
    required.forEach((arg, i) => {
      args = i > 0 ? p.seq(args, p.space(), arg) : p.seq(args, arg);
    });
    if (optional.length > 0) {
      args = p.seq(args, p.repeat(p.seq(p.space(), p.choice(...optional)), 0, -1));
    }
    if (t.argsStart !== "") args = p.seq(t.argsStart, args);
    if (t.argsEnd !== "") args = p.seq(args, t.argsEnd);
    const [idSection, haveId] = callIdSection(p, t, true);
    // peek for an argument tag only when required arguments must follow
    const peek = t.argNamePrefix !== "" && required.length > 0
      ? p.peek(p.literal(t.argNamePrefix))
      : null;
    choice = p.choice(
      choice,
      p.rule(`tool-${name}`, funcParser(p, t, name, idSection, haveId, args, peek)),
    );
  }
  let calls: Peg;
  if (t.perCallStart !== "") {
    const wrapped = p.seq(t.perCallStart, p.space(), choice, p.space(), t.perCallEnd);
    calls = inputs.parallelToolCalls
      ? p.triggerRule(
        "tool-call",
        p.seq(wrapped, p.zeroOrMore(p.seq(p.space(), wrapped)), p.space()),
      )
      : p.triggerRule("tool-call", p.seq(wrapped, p.space()));
    if (t.sectionStart !== "") {
      calls = p.triggerRule(
        "tool-calls",
        p.seq(
          t.sectionStart,
          p.space(),
          calls,
          p.space(),
          t.sectionEnd === "" ? p.end() : p.seq(t.sectionEnd, p.space()),
        ),
      );
    }
  } else {
    calls = inputs.parallelToolCalls
      ? p.triggerRule(
        "tool-call",
        p.seq(
          t.sectionStart,
          p.space(),
          choice,
          p.zeroOrMore(p.seq(", ", choice)),
          p.space(),
          t.sectionEnd,
        ),
      )
      : p.triggerRule(
        "tool-call",
        p.seq(t.sectionStart, p.space(), choice, p.space(), t.sectionEnd),
      );
  }
  if (inputs.toolChoice !== "required") calls = p.optional(calls);
  const marker = t.sectionStart !== "" ? t.sectionStart : t.perCallStart;
  const before = marker === "" ? p.eps() : p.until(marker);
  return p.seq(
    ctx.reasoningParser,
    contentBeforeCalls(inputs, p.optional(p.content(before)), p.eps()),
    calls,
    p.end(),
  );
}

/**
 * The parser of a template's output for `inputs` (upstream autoparser::build_parser); `caps`
 * says whether the template renders tool calls at all.
 */
export function buildGenericParser(
  a: TemplateAnalysis,
  inputs: FormatInputs,
  generationPrompt: string,
  supportsToolCalls: boolean,
) {
  return buildChatParser((p) => {
    const ctx: BuildContext = {
      p,
      inputs,
      analysis: a,
      extractingReasoning: inputs.reasoningFormat !== "none" && a.reasoning.mode !== "NONE",
      reasoningParser: p.eps(),
    };
    ctx.reasoningParser = reasoningParser(ctx);
    const hasTools = inputs.tools.length > 0;
    const responseFormat = inputs.jsonSchema !== undefined &&
      Object.keys(inputs.jsonSchema).length > 0;
    let pureContent = a.reasoning.mode === "NONE";
    let parser: Peg;
    if (responseFormat) {
      const format = p.rule(
        "response-format",
        p.content(p.schema(p.json(), "response-format-schema", inputs.jsonSchema)),
      );
      parser = p.seq(
        ctx.reasoningParser,
        p.space(),
        p.choice(
          p.seq("```json", p.space(), format, p.space(), "```"),
          p.seq(p.space(), format, p.space()),
        ),
        p.end(),
      );
      pureContent = false;
    } else if (hasTools && inputs.toolChoice !== "none" && supportsToolCalls) {
      switch (a.tools.mode) {
        case "JSON_NATIVE":
          parser = jsonNativeTools(ctx);
          break;
        case "TAG_WITH_JSON":
          parser = tagJsonTools(ctx);
          break;
        case "TAG_WITH_TAGGED":
          parser = tagTaggedTools(ctx);
          break;
        default:
          parser = p.eps();
      }
      pureContent = false;
    } else {
      parser = contentParser(ctx);
    }
    const prefix = p.prefix(generationPrompt, a.reasoning.start.trim());
    return pureContent ? p.seq(prefix, parser) : p.seq(prefix, p.space(), parser);
  });
}

/** A request's params in the generic format of `analysis` (upstream peg_generator::generate_parser). */
export function genericParams(
  template: FormatTemplate,
  inputs: FormatInputs,
  a: TemplateAnalysis,
  format = "generic",
): ChatParams {
  const prompt = applyTemplate(template, inputs);
  const generationPrompt = templateGenerationPrompt(template, inputs);
  const params: ChatParams = {
    format,
    prompt,
    generationPrompt,
    grammar: "",
    grammarLazy: false,
    grammarTriggers: [],
    preservedTokens: [...a.preservedTokens],
    additionalStops: [...a.additionalStops],
    supportsThinking: a.reasoning.mode !== "NONE",
    thinkingStartTag: "",
    thinkingEndTags: [],
    parser: null,
  };
  if (params.supportsThinking) {
    params.thinkingStartTag = a.reasoning.start.trim();
    const end = a.reasoning.end.trim();
    if (end !== "") params.thinkingEndTags = [end];
  }
  const parserPrompt = params.generationPrompt;
  if (inputs.continueFinalMessage !== "none" && inputs.continueMessage !== null) {
    const msg = inputs.continueMessage;
    if (a.reasoning.start !== "") {
      const at = params.generationPrompt.indexOf(a.reasoning.start);
      params.generationPrompt =
        (at < 0 ? params.generationPrompt : params.generationPrompt.slice(0, at)) +
        a.reasoning.start + (msg.reasoning_content ?? "");
      if (inputs.continueFinalMessage === "content") params.generationPrompt += a.reasoning.end;
    }
    if (inputs.continueFinalMessage === "content") params.generationPrompt += renderContent(msg);
    params.prompt += params.generationPrompt;
  }
  const parser = buildGenericParser(a, inputs, parserPrompt, template.caps.supportsToolCalls);
  params.parser = parser;

  const hasTools = a.tools.mode !== "NONE" && inputs.tools.length > 0;
  const trigger = a.tools.sectionStart !== "" ? a.tools.sectionStart : a.tools.perCallStart;
  const responseFormat = inputs.jsonSchema !== undefined &&
    Object.keys(inputs.jsonSchema).length > 0;
  const includeGrammar = responseFormat ||
    (hasTools &&
      ((inputs.toolChoice === "auto" && trigger !== "") || inputs.toolChoice === "required"));
  if (includeGrammar) {
    params.grammarLazy = !responseFormat && inputs.toolChoice === "auto";
    params.grammar = parser.grammar(params.grammarLazy);
    if (params.grammarLazy) {
      params.grammarTriggers = [{ type: "word", value: trigger }];
      if (a.tools.openaiWrapperTrigger) {
        params.grammarTriggers.push({ type: "word", value: '{"type": "function",' });
      }
    }
  }
  return params;
}
