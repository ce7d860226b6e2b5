/**
 * Qwen3-Coder XML tool calls, also written by Qwen 3.5, NVIDIA Nemotron 3 Nano and StepFun 3.5
 * (upstream `parsers/qwen3-coder.cpp`):
 * `<tool_call>\n<function=name>\n<parameter=key>\nvalue\n</parameter>\n</function>\n</tool_call>`,
 * string values raw, others JSON; required arguments in any order; `<think>` reasoning for the
 * templates that have it.
 *
 * @module
 */
import { buildChatParser, functionTools, toolParameters } from "../chat_peg_builder.ts";
import type { ChatFormatFamily } from "../chat_format_family.ts";
import type { ChatParams } from "../chat_params.ts";
import type { Peg } from "../peg_parser.ts";
import {
  applyTemplate,
  contentBeforeCalls,
  hasContinuation,
  renderContent,
  templateGenerationPrompt,
} from "../template_apply.ts";
import { parseSchemaDocument, schemaValueTypes } from "../../json_schema_to_grammar.ts";

const GEN_PREFIX = "<|im_start|>assistant\n";

/** Qwen3-Coder's format. */
export const QWEN3_CODER: ChatFormatFamily = {
  name: "Qwen3-Coder",
  matches: (src) =>
    src.includes("<tool_call>") && src.includes("<function=") && src.includes("<parameter=") &&
    !src.includes("'<tool_call><function=' ~ tool_call.name ~ '>'"),
  params(template, inputs): ChatParams {
    const reasoningSupported = template.source.includes("<think>");
    const isCoder = !reasoningSupported;
    const params: ChatParams = {
      format: "Qwen3-Coder",
      prompt: applyTemplate(template, inputs),
      generationPrompt: templateGenerationPrompt(template, inputs),
      grammar: "",
      grammarLazy: false,
      grammarTriggers: [],
      preservedTokens: ["<tool_call>", "</tool_call>"],
      additionalStops: [],
      supportsThinking: reasoningSupported,
      thinkingStartTag: "",
      thinkingEndTags: [],
      parser: null,
    };
    if (reasoningSupported) {
      params.thinkingStartTag = "<think>";
      params.thinkingEndTags = ["\n</think>", "</think>", "<tool_call>"];
      params.preservedTokens.push("<think>", "</think>");
    }
    const tools = functionTools(inputs.tools);
    const hasTools = tools.length > 0;
    const responseFormat = inputs.jsonSchema !== undefined &&
      Object.keys(inputs.jsonSchema).length > 0;
    const extractReasoning = inputs.reasoningFormat !== "none";
    const includeGrammar = responseFormat || (hasTools && inputs.toolChoice !== "none");
    if (hasContinuation(inputs)) {
      const msg = inputs.continueMessage!;
      params.generationPrompt = GEN_PREFIX;
      if (reasoningSupported) {
        params.generationPrompt += "<think>\n" + (msg.reasoning_content ?? "");
        if (inputs.continueFinalMessage === "content") params.generationPrompt += "\n</think>\n\n";
      }
      if (inputs.continueFinalMessage === "content") params.generationPrompt += renderContent(msg);
      params.prompt += params.generationPrompt;
    }
    const starts = ["<tool_call>"];
    if (isCoder) { for (const tool of tools) starts.push(`<function=${tool.function.name}>`); }
    const parser = buildChatParser((p) => {
      const generation = p.literal(GEN_PREFIX);
      let reasoning = p.eps();
      if (reasoningSupported && extractReasoning) {
        reasoning = p.optional(
          p.seq(
            "<think>",
            p.space(),
            p.reasoning(p.until("</think>", "<tool_call>")),
            p.choice(p.literal("</think>"), p.peek(p.literal("<tool_call>"))),
          ),
        );
      }
      if (responseFormat) {
        return p.seq(
          generation,
          p.spaced(reasoning, p.content(p.schema(p.json(), "response-format", inputs.jsonSchema))),
        );
      }
      if (hasTools && inputs.toolChoice !== "none") {
        const argClose = p.toolArgClose(p.literal("\n</parameter>\n"));
        const argString = p.rule(
          "xml-arg-string",
          p.ac(
            p.seq(p.toolArgStringValue(p.until("\n</parameter>\n")), argClose),
            "\n</parameter>\n",
          ),
        );
        let choice = p.choice();
        for (const tool of tools) {
          const name = tool.function.name;
          const required: Peg[] = [];
          const optional: Peg[] = [];
          const doc = parseSchemaDocument(toolParameters(tool.function));
          for (const param of doc.properties) {
            const ruleName = `tool-${name}-arg-${param.name}`;
            const open = p.toolArgOpen(p.seq("<parameter=", p.toolArgName(param.name), ">\n"));
            const types = schemaValueTypes(param.schema);
            let value: Peg;
            if (!types.has("string")) {
              value = p.seq(
                p.toolArgJsonValue(p.schemaNode(p.json(), `${ruleName}-schema`, param.schema)),
                argClose,
              );
            } else if (types.size === 1) {
              value = argString;
            } else {
              // the string alternative takes any text, so the grammar keeps only it; the parser
              // tries the JSON ones first to type the value
              let json = p.choice();
              if (types.has("object")) json = p.choice(json, p.jsonObject());
              if (types.has("array")) json = p.choice(json, p.jsonArray());
              if (types.has("number") || types.has("integer")) {
                json = p.choice(json, p.jsonNumber());
              }
              if (types.has("boolean")) json = p.choice(json, p.jsonBool());
              if (types.has("null")) json = p.choice(json, p.jsonNull());
              value = p.gbnf(
                p.choice(p.atomic(p.seq(p.toolArgJsonValue(json), argClose)), argString),
                "xml-arg-string",
              );
            }
            const arg = p.rule(ruleName, p.toolArg(p.seq(open, value)));
            (param.required ? required : optional).push(arg);
          }
          // required arguments in any order: Qwen does not always keep to the given one
          let args = p.permute(`tool-${name}-args`, required);
          if (optional.length > 0) args = p.seq(args, p.zeroOrMore(p.choice(...optional)));
          const fn = p.tool(
            p.seq(
              p.toolOpen(p.seq("<function=", p.toolName(name), ">\n")),
              p.toolArgs(args),
              p.toolClose(p.literal("</function>\n")),
            ),
          );
          choice = p.choice(choice, p.rule(`tool-${name}`, fn));
        }
        const minCalls = inputs.toolChoice === "required" ? 1 : 0;
        const body = p.seq(choice, "</tool_call>", p.space());
        const call = p.rule("tool-call", p.seq("<tool_call>\n", body));
        // Qwen3-Coder models sometimes leave out <tool_call>
        const first = isCoder
          ? p.rule("tool-call-first", p.seq(p.optional(p.literal("<tool_call>\n")), body))
          : call;
        const calls = inputs.parallelToolCalls ? p.seq(first, p.zeroOrMore(call)) : first;
        const toolCalls = p.triggerRule("tool-call-root", p.repeat(calls, minCalls, 1));
        return p.seq(
          generation,
          p.spaced(
            p.spaced(reasoning, contentBeforeCalls(inputs, p.content(p.until(...starts)), p.eps())),
            toolCalls,
          ),
        );
      }
      return p.seq(generation, p.spaced(reasoning, p.content(p.rest())));
    });
    params.parser = parser;
    if (includeGrammar) {
      params.grammarLazy = hasTools && inputs.toolChoice === "auto";
      params.grammar = parser.grammar(params.grammarLazy);
      if (params.grammarLazy) {
        params.grammarTriggers = starts.map((value) => ({ type: "word", value }));
      }
    }
    return params;
  },
};
