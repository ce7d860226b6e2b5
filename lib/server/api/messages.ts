/**
 * Validation of chat `messages`, `tools` and `tool_choice` (OpenAI shapes), mapped to
 * what the chat template renders. Text content parts are joined with newlines (as
 * llama.cpp does); image and audio parts are refused, as no projector is loaded.
 *
 * @module
 */
import type { ChatMessage, ChatToolCall } from "../../engine/chat_template.ts";
import { invalidRequest } from "./errors.ts";
import { type Body, isObject, kind } from "./validate.ts";

const ROLES = new Set(["system", "developer", "user", "assistant", "tool", "function"]);

function content(value: unknown, where: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (!Array.isArray(value)) {
    throw invalidRequest(
      `${where}.content must be a string or an array of content parts, got ${kind(value)}`,
      "messages",
    );
  }
  const texts: string[] = [];
  value.forEach((part, j) => {
    if (!isObject(part)) {
      throw invalidRequest(
        `${where}.content[${j}] must be an object, got ${kind(part)}`,
        "messages",
      );
    }
    if (part.type === "text") {
      if (typeof part.text !== "string") {
        throw invalidRequest(
          `${where}.content[${j}].text must be a string, got ${kind(part.text)}`,
          "messages",
        );
      }
      texts.push(part.text);
    } else if (
      part.type === "image_url" || part.type === "input_audio" || part.type === "input_image"
    ) {
      throw invalidRequest(
        `${where}.content[${j}]: ${String(part.type)} input is not supported by this model`,
        "messages",
      );
    } else {
      throw invalidRequest(
        `${where}.content[${j}].type ${JSON.stringify(part.type)} is not supported: use "text"`,
        "messages",
      );
    }
  });
  return texts.join("\n");
}

function toolCalls(value: unknown, where: string): ChatToolCall[] {
  if (!Array.isArray(value)) {
    throw invalidRequest(`${where}.tool_calls must be an array, got ${kind(value)}`, "messages");
  }
  return value.map((call, j) => {
    const at = `${where}.tool_calls[${j}]`;
    if (!isObject(call) || !isObject(call.function)) {
      throw invalidRequest(`${at} must be an object with a function`, "messages");
    }
    const fn = call.function;
    if (typeof fn.name !== "string") {
      throw invalidRequest(`${at}.function.name must be a string`, "messages");
    }
    const args = fn.arguments ?? "{}";
    if (typeof args !== "string" && !isObject(args)) {
      throw invalidRequest(`${at}.function.arguments must be a JSON string`, "messages");
    }
    return {
      ...(typeof call.id === "string" && { id: call.id }),
      type: typeof call.type === "string" ? call.type : "function",
      function: { name: fn.name, arguments: args },
    };
  });
}

/** Validates `body.messages`. */
export function parseMessages(body: Body): ChatMessage[] {
  const value = body.messages;
  if (value === undefined || value === null) {
    throw invalidRequest("messages is required", "messages");
  }
  if (!Array.isArray(value)) {
    throw invalidRequest(`messages must be an array, got ${kind(value)}`, "messages");
  }
  if (value.length === 0) throw invalidRequest("messages must not be empty", "messages");
  return value.map((message, i) => {
    const where = `messages[${i}]`;
    if (!isObject(message)) {
      throw invalidRequest(`${where} must be an object, got ${kind(message)}`, "messages");
    }
    const role = message.role;
    if (typeof role !== "string" || !ROLES.has(role)) {
      throw invalidRequest(
        `${where}.role must be one of ${[...ROLES].join(", ")}, got ${
          JSON.stringify(role ?? null)
        }`,
        "messages",
      );
    }
    const text = content(message.content, where);
    const calls = message.tool_calls === undefined || message.tool_calls === null
      ? undefined
      : toolCalls(message.tool_calls, where);
    if (role === "assistant") {
      if (text === null && calls === undefined) {
        throw invalidRequest(`${where} (assistant) must have content or tool_calls`, "messages");
      }
    } else if (text === null) {
      throw invalidRequest(`${where}.content is required for role "${role}"`, "messages");
    }
    const out: ChatMessage = { role: role === "developer" ? "system" : role, content: text };
    if (message.name !== undefined && message.name !== null) {
      if (typeof message.name !== "string") {
        throw invalidRequest(`${where}.name must be a string`, "messages");
      }
      out.name = message.name;
    }
    if (message.tool_call_id !== undefined && message.tool_call_id !== null) {
      if (typeof message.tool_call_id !== "string") {
        throw invalidRequest(`${where}.tool_call_id must be a string`, "messages");
      }
      out.tool_call_id = message.tool_call_id;
    }
    if (calls !== undefined) out.tool_calls = calls;
    return out;
  });
}

/** Validated `tools` and `tool_choice`. */
export interface ToolRequest {
  tools: Body[];
  /** `"none"`, `"auto"`, `"required"`, or `{type: "function", function: {name}}`. */
  choice: string | Body;
}

/** Validates `body.tools` and `body.tool_choice`; `null` when no tools are given. */
export function parseTools(body: Body): ToolRequest | null {
  const tools = body.tools;
  const choice = body.tool_choice ?? "auto";
  if (typeof choice === "string") {
    if (!["none", "auto", "required"].includes(choice)) {
      throw invalidRequest(
        `tool_choice must be "none", "auto", "required" or a function, got "${choice}"`,
        "tool_choice",
      );
    }
  } else if (
    !isObject(choice) || !isObject(choice.function) || typeof choice.function.name !== "string"
  ) {
    throw invalidRequest(
      'tool_choice must be "none", "auto", "required" or {"type":"function","function":{"name":...}}',
      "tool_choice",
    );
  }
  if (tools === undefined || tools === null) return null;
  if (!Array.isArray(tools)) {
    throw invalidRequest(`tools must be an array, got ${kind(tools)}`, "tools");
  }
  if (tools.length === 0) return null;
  tools.forEach((tool, i) => {
    if (!isObject(tool) || tool.type !== "function" || !isObject(tool.function)) {
      throw invalidRequest(`tools[${i}] must be {"type":"function","function":{...}}`, "tools");
    }
    if (typeof tool.function.name !== "string" || tool.function.name === "") {
      throw invalidRequest(`tools[${i}].function.name must be a non-empty string`, "tools");
    }
    const parameters = tool.function.parameters;
    if (parameters !== undefined && !isObject(parameters)) {
      throw invalidRequest(`tools[${i}].function.parameters must be a JSON Schema object`, "tools");
    }
  });
  return { tools: tools as Body[], choice: choice as string | Body };
}
