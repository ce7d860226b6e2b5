/**
 * OpenAI GPT-OSS harmony format (upstream `parsers/gpt-oss.cpp`): messages on channels,
 * `<|channel|>analysis<|message|>` reasoning, `<|channel|>final<|message|>` answers, and calls
 * addressed `to=functions.NAME` in the role or the channel header, with JSON arguments.
 *
 * @module
 */
import { buildChatParser, functionTools, toolParameters } from "../chat_peg_builder.ts";
import type { ChatFormatFamily } from "../chat_format_family.ts";
import type { ChatParams } from "../chat_params.ts";
import {
  applyTemplate,
  hasContinuation,
  renderContent,
  templateGenerationPrompt,
} from "../template_apply.ts";

/** GPT-OSS's format. */
export const GPT_OSS: ChatFormatFamily = {
  name: "GPT-OSS",
  matches: (src) => src.includes("<|channel|>"),
  params(template, inputs): ChatParams {
    // the template reads reasoning from "thinking", and a message with calls has no content
    const messages = inputs.messages.map((m) => {
      if (typeof m.reasoning_content !== "string") return m;
      const out: Record<string, unknown> = { ...m, thinking: m.reasoning_content };
      if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) delete out.content;
      return out;
    });
    let prompt = applyTemplate(template, inputs, { messages });
    if (!inputs.addGenerationPrompt) {
      // a finished conversation ends its last message with <|end|>, not <|return|>
      const at = prompt.lastIndexOf("<|return|>");
      if (at >= 0) {
        prompt = prompt.slice(0, at) + "<|end|>" + prompt.slice(at + "<|return|>".length);
      }
    }
    const params: ChatParams = {
      format: "GPT-OSS",
      prompt,
      generationPrompt: templateGenerationPrompt(template, inputs, { messages }),
      grammar: "",
      grammarLazy: false,
      grammarTriggers: [],
      preservedTokens: ["<|channel|>", "<|constrain|>", "<|message|>", "<|start|>", "<|end|>"],
      additionalStops: [],
      supportsThinking: true,
      thinkingStartTag: "<|channel|>analysis<|message|>",
      thinkingEndTags: ["<|end|>"],
      parser: null,
    };
    if (hasContinuation(inputs)) {
      const msg = inputs.continueMessage!;
      params.generationPrompt = "<|start|>assistant<|channel|>analysis<|message|>" +
        (msg.reasoning_content ?? "");
      if (inputs.continueFinalMessage === "content") {
        params.generationPrompt += "<|end|><|start|>assistant<|channel|>final<|message|>" +
          renderContent(msg);
      }
      params.prompt += params.generationPrompt;
    }
    const tools = functionTools(inputs.tools);
    const hasTools = tools.length > 0;
    const responseFormat = inputs.jsonSchema !== undefined;
    const includeGrammar = responseFormat || (hasTools && inputs.toolChoice !== "none");
    const extractReasoning = inputs.reasoningFormat !== "none";
    const parser = buildChatParser((p) => {
      const start = p.rule("start", p.literal("<|start|>assistant"));
      const end = p.rule("end", p.literal("<|end|>"));
      const content = p.rule("message-content", p.until("<|end|>"));
      const channel = p.seq("<|channel|>", p.choice("commentary", "analysis"));
      const constrainType = p.chars("[A-Za-z0-9_-]", 1, -1);
      // gpt-oss-20b sometimes prefixes channels with this commentary
      const stray = p.optional(
        p.seq("<|channel|>commentary", p.optional(p.literal(" to=assistant"))),
      );
      const startAnalysis = p.seq(stray, "<|channel|>analysis<|message|>");
      if (extractReasoning) p.rule("analysis", p.seq(startAnalysis, p.reasoning(content), end));
      else p.rule("analysis", p.content(p.seq(startAnalysis, content, end)));
      const analysis = p.ref("analysis");
      const preamble = p.rule(
        "preamble",
        p.seq("<|channel|>commentary<|message|>", p.content(content), end),
      );
      const final = p.rule(
        "final",
        p.seq(stray, "<|channel|>final<|message|>", p.content(content)),
      );
      // calls nobody asked for (built-in functions) are consumed
      const unsolicited = p.rule(
        "unsolicited",
        p.atomic(p.seq(p.optional(channel), " to=", content, end)),
      );
      const any = p.rule("any", p.choice(preamble, analysis));
      if (responseFormat) {
        const constraint = p.optional(
          p.seq(p.space(), p.optional(p.literal("<|constrain|>")), constrainType),
        );
        const format = p.rule(
          "response-format",
          p.seq(
            "<|channel|>final",
            constraint,
            "<|message|>",
            p.content(p.schema(p.json(), "response-format-schema", inputs.jsonSchema)),
          ),
        );
        return p.seq(p.zeroOrMore(p.seq(start, analysis)), start, format);
      }
      if (hasTools && inputs.toolChoice !== "none") {
        let choice = p.choice();
        for (const tool of tools) {
          const name = tool.function.name;
          const funcName = p.seq(" to=functions.", p.toolName(name));
          const constraint = p.optional(
            p.seq(p.space(), p.optional(p.literal("<|constrain|>")), constrainType),
          );
          const args = p.toolArgs(
            p.schema(p.json(), `tool-${name}-schema`, toolParameters(tool.function)),
          );
          const inRole = p.tool(
            p.seq(p.toolOpen(p.seq(funcName, channel, constraint, "<|message|>")), args),
          );
          const inChannel = p.tool(
            p.seq(p.toolOpen(p.seq(channel, funcName, constraint, "<|message|>")), args),
          );
          choice = p.choice(choice, p.rule(`tool-${name}`, p.choice(inRole, inChannel)));
        }
        const toolCall = p.triggerRule("tool-call", choice);
        if (inputs.toolChoice === "required") {
          return p.seq(p.zeroOrMore(p.seq(start, any)), start, toolCall);
        }
        return p.seq(p.zeroOrMore(p.seq(start, any)), start, p.choice(toolCall, final));
      }
      return p.seq(p.zeroOrMore(p.seq(start, any)), start, p.choice(final, unsolicited));
    });
    params.parser = parser;
    if (includeGrammar) {
      params.grammarLazy = !(responseFormat || (hasTools && inputs.toolChoice === "required"));
      params.grammar = parser.grammar(params.grammarLazy);
      params.grammarTriggers = [
        { type: "pattern", value: "^\\s+to$" },
        { type: "pattern", value: "^<\\|channel\\|>(?:commentary|analysis)\\s+to=functions$" },
        { type: "pattern", value: "<\\|start\\|>assistant(\\s+to)" },
        {
          type: "pattern",
          value: "<\\|start\\|>assistant(<\\|channel\\|>(?:commentary|analysis)\\s+to)",
        },
      ];
    }
    return params;
  },
};
