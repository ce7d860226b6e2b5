/**
 * Mistral's Ministral 3 and Magistral (upstream `parsers/ministral3.cpp`): `[THINK]...[/THINK]`
 * reasoning, then calls `[TOOL_CALLS]name[ARGS]{...}`; system and assistant messages are given
 * to the template as typed blocks (`thinking`, `text`).
 *
 * @module
 */
import { buildChatParser, functionTools, toolParameters } from "../chat_peg_builder.ts";
import type { ChatFormatFamily } from "../chat_format_family.ts";
import type { ChatParams } from "../chat_params.ts";
import {
  applyTemplate,
  contentBeforeCalls,
  hasContinuation,
  renderContent,
  templateGenerationPrompt,
} from "../template_apply.ts";

/** Ministral 3 / Magistral's format. */
export const MINISTRAL_3: ChatFormatFamily = {
  name: "Ministral 3",
  matches: (src) =>
    src.includes("[SYSTEM_PROMPT]") && src.includes("[TOOL_CALLS]") && src.includes("[ARGS]") &&
    !src.includes("[CALL_ID]"),
  params(template, inputs): ChatParams {
    const messages = inputs.messages.map((m) => {
      if (m.role !== "system" && m.role !== "assistant") return m;
      const content: unknown[] = [];
      if (typeof m.reasoning_content === "string") {
        content.push({ type: "thinking", thinking: m.reasoning_content });
      }
      if (typeof m.content === "string") content.push({ type: "text", text: m.content });
      else if (Array.isArray(m.content)) content.push(...m.content);
      const out: Record<string, unknown> = { ...m, content };
      delete out.reasoning_content;
      return out;
    });
    const params: ChatParams = {
      format: "Ministral 3",
      prompt: applyTemplate(template, inputs, { messages }),
      generationPrompt: templateGenerationPrompt(template, inputs, { messages }),
      grammar: "",
      grammarLazy: false,
      grammarTriggers: [],
      preservedTokens: ["[THINK]", "[/THINK]", "[TOOL_CALLS]", "[ARGS]"],
      additionalStops: [],
      supportsThinking: true,
      thinkingStartTag: "[THINK]",
      thinkingEndTags: ["[/THINK]"],
      parser: null,
    };
    if (hasContinuation(inputs)) {
      const msg = inputs.continueMessage!;
      params.generationPrompt = "[THINK]" + (msg.reasoning_content ?? "");
      if (inputs.continueFinalMessage === "content") {
        params.generationPrompt += "[/THINK]" + renderContent(msg);
      }
      params.prompt += params.generationPrompt;
    }
    const tools = functionTools(inputs.tools);
    const hasTools = tools.length > 0;
    const responseFormat = inputs.jsonSchema !== undefined &&
      Object.keys(inputs.jsonSchema).length > 0;
    const extractReasoning = inputs.reasoningFormat !== "none";
    let includeGrammar = true;
    const parser = buildChatParser((p) => {
      const reasoning = extractReasoning
        ? p.optional(p.seq("[THINK]", p.reasoning(p.until("[/THINK]")), "[/THINK]"))
        : p.eps();
      if (responseFormat) {
        // Ministral writes JSON in a code fence
        return p.spaced(
          p.spaced(
            p.spaced(reasoning, "```json"),
            p.content(p.schema(p.json(), "response-format", inputs.jsonSchema)),
          ),
          "```",
        );
      }
      if (hasTools && inputs.toolChoice !== "none") {
        let choice = p.choice();
        for (const tool of tools) {
          const name = tool.function.name;
          choice = p.choice(
            choice,
            p.rule(
              `tool-${name}`,
              p.seq(
                p.toolOpen(p.seq(p.toolName(name), "[ARGS]")),
                p.toolArgs(
                  p.schema(p.json(), `tool-${name}-schema`, toolParameters(tool.function)),
                ),
              ),
            ),
          );
        }
        const minCalls = inputs.toolChoice === "required" ? 1 : 0;
        const maxCalls = inputs.parallelToolCalls ? -1 : 1;
        const calls = p.triggerRule(
          "tool-call",
          p.repeat(p.seq("[TOOL_CALLS]", choice), minCalls, maxCalls),
        );
        return p.spaced(
          p.spaced(
            reasoning,
            contentBeforeCalls(inputs, p.content(p.until("[TOOL_CALLS]")), p.eps()),
          ),
          calls,
        );
      }
      includeGrammar = false;
      return p.spaced(reasoning, p.content(p.rest()));
    });
    params.parser = parser;
    if (includeGrammar) {
      params.grammarLazy = hasTools && inputs.toolChoice === "auto";
      params.grammar = parser.grammar(params.grammarLazy);
      params.grammarTriggers = [{ type: "word", value: "[TOOL_CALLS]" }];
    }
    return params;
  },
};
