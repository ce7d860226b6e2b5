/**
 * Functionary v3.2 (upstream `parsers/functionary-v3-2.cpp`): the generation prompt ends with
 * `>>>`, then the model writes a recipient: `all\n` and content, or a function name, a newline
 * and JSON arguments; several `>>>` turns may follow.
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

/** Functionary v3.2's format. */
export const FUNCTIONARY_V3_2: ChatFormatFamily = {
  name: "Functionary v3.2",
  matches: (src) => src.includes(">>>all") && src.includes(">>>${recipient}"),
  params(template, inputs): ChatParams {
    const params: ChatParams = {
      format: "Functionary v3.2",
      prompt: applyTemplate(template, inputs),
      generationPrompt: templateGenerationPrompt(template, inputs),
      grammar: "",
      grammarLazy: false,
      grammarTriggers: [],
      preservedTokens: [">>>all"],
      additionalStops: [],
      supportsThinking: false,
      thinkingStartTag: "",
      thinkingEndTags: [],
      parser: null,
    };
    const tools = functionTools(inputs.tools);
    const hasTools = tools.length > 0;
    if (hasContinuation(inputs)) {
      params.generationPrompt = "<|start_header_id|>assistant<|end_header_id|>\n\n>>>all\n" +
        renderContent(inputs.continueMessage!);
      params.prompt += params.generationPrompt;
    }
    const parser = buildChatParser((p) => {
      const untilTool = p.seq("all\n", p.content(p.until(">>>")));
      const untilEnd = p.seq("all\n", p.content(p.rest()));
      const generation = p.literal("<|start_header_id|>assistant<|end_header_id|>\n\n>>>");
      if (!hasTools || inputs.toolChoice === "none") return p.seq(generation, untilEnd, p.end());
      let choice = p.choice();
      for (const tool of tools) {
        const name = tool.function.name;
        const call = p.tool(
          p.seq(
            p.toolOpen(p.seq(p.toolName(name), "\n")),
            p.toolArgs(p.schema(p.json(), `tool-${name}-schema`, toolParameters(tool.function))),
          ),
        );
        choice = p.choice(choice, p.rule(`tool-${name}`, call));
      }
      const toolsOnly = p.triggerRule("tools", p.oneOrMore(choice));
      let body;
      if (inputs.toolChoice === "required" && inputs.immediateCall) {
        body = inputs.parallelToolCalls ? toolsOnly : choice;
      } else if (inputs.toolChoice === "required") {
        body = inputs.parallelToolCalls
          ? p.choice(p.seq(untilTool, toolsOnly), toolsOnly)
          : p.choice(p.seq(untilTool, choice), toolsOnly);
      } else if (inputs.parallelToolCalls) {
        body = p.choice(p.seq(untilTool, toolsOnly), untilEnd, toolsOnly);
      } else {
        body = p.choice(p.seq(untilTool, choice), untilEnd, choice);
      }
      return p.seq(generation, body, p.end());
    });
    params.parser = parser;
    if (hasTools && inputs.toolChoice !== "none") {
      params.grammarLazy = inputs.toolChoice === "auto";
      params.grammar = parser.grammar(params.grammarLazy);
      params.grammarTriggers = [{ type: "pattern", value: ">>>(?!all)" }];
    }
    return params;
  },
};
