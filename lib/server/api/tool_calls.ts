/**
 * Tool calls as the APIs answer them: OpenAI's `{id, type, function: {name, arguments}}`,
 * from the message a chat format read out of the generated text (chat_output.ts).
 *
 * @module
 */
import type { ParsedMessage } from "../../engine/chat_formats/chat_message.ts";

/** An OpenAI tool call. */
export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** Generated text split into content, reasoning and tool calls. */
export interface ParsedOutput {
  /** The text answer; `null` when there is none besides tool calls. */
  content: string | null;
  reasoning: string;
  toolCalls: ToolCall[];
}

/** A parsed message in the APIs' shape. */
export function parsedOutput(message: ParsedMessage): ParsedOutput {
  return {
    content: message.content === "" && message.toolCalls.length > 0 ? null : message.content,
    reasoning: message.reasoningContent,
    toolCalls: message.toolCalls.map((call) => ({
      id: call.id,
      type: "function",
      function: { name: call.name, arguments: call.arguments },
    })),
  };
}
