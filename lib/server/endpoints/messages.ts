/**
 * `POST /v1/messages`: Anthropic's Messages API, whole or streamed as its named events
 * (`message_start`, `content_block_start`, `ping`, `content_block_delta`, `content_block_stop`,
 * `message_delta`, `message_stop`), on the same chat template, slots and tool-call parsing as
 * the OpenAI endpoints. Errors, here and in the middleware before it, are Anthropic-shaped.
 *
 * @module
 */
import { createFactory } from "hono/factory";
import type { SlotResult } from "../../engine/slots.ts";
import { anthropicGeneration, anthropicTurn, MESSAGES_REQUEST } from "../api/anthropic.ts";
import type { AppEnv } from "../api/app_env.ts";
import { ChatOutput } from "../api/chat_output.ts";
import { callsTools, chatGeneration, DEFAULT_CHAT_OPTIONS, prepareChat } from "../api/chat_turn.ts";
import {
  type AnswerFormat,
  completionId,
  reportedModel,
  respond,
  vocabInfo,
} from "../api/generation.ts";
import { toGenerationParams } from "../api/generation_params.ts";
import { jsonBody, readJsonBody } from "../api/json_body.ts";
import type { ServerState } from "../api/server_state.ts";
import { NamedEvent } from "../api/sse.ts";
import { type ParsedOutput, parsedOutput, type ToolCall } from "../api/tool_calls.ts";

/** The handlers of `POST /v1/messages`. */
export function messages(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(MESSAGES_REQUEST),
    async function messages(c) {
      const engine = state.engine();
      const body = c.req.valid("json");
      const turn = anthropicTurn(body);
      const params = toGenerationParams(
        anthropicGeneration(body),
        "chat",
        vocabInfo(engine),
        state.config.defaults,
      );
      const options = state.config.chat ?? DEFAULT_CHAT_OPTIONS;
      const chat = await prepareChat(engine, turn, options);
      chatGeneration(engine, chat, params, options);
      const tokens = chat.tokens;
      const callTools = callsTools(turn.tools);
      const message = {
        id: completionId("msg_").slice(0, 28),
        model: reportedModel(body.model, state.config.modelName),
      };
      return await respond(
        c,
        engine,
        tokens,
        params,
        messagesFormat(message, tokens.length, callTools, new ChatOutput(chat.params)),
      );
    },
  );
}

/** Anthropic's `stop_reason`. */
function stopReason(result: SlotResult, output: ParsedOutput): string {
  if (output.toolCalls.length > 0) return "tool_use";
  switch (result.finishReason) {
    case "eog":
    case "abort":
      return "end_turn";
    case "stop":
      return "stop_sequence";
    case "context":
      return "model_context_window_exceeded";
    default:
      return "max_tokens";
  }
}

/** Anthropic `usage`: input tokens read from the slot's cache are counted apart. */
function usage(result: SlotResult): Record<string, unknown> {
  return {
    input_tokens: result.promptTokens - result.cachedTokens,
    cache_read_input_tokens: result.cachedTokens,
    cache_creation_input_tokens: 0,
    output_tokens: result.completionTokens,
  };
}

/** A `tool_use` content block for a parsed call (invalid JSON arguments give `{}`). */
function toolUse(call: ToolCall): Record<string, unknown> {
  let input: unknown = {};
  try {
    input = JSON.parse(call.function.arguments);
  } catch {
    // left empty, as llama.cpp does
  }
  return {
    type: "tool_use",
    id: `toolu_${call.id.replace(/^call_/, "")}`,
    name: call.function.name,
    input,
  };
}

/** The content blocks of an answer: its thinking, text and tool calls. */
function contentBlocks(output: ParsedOutput): Record<string, unknown>[] {
  const blocks: Record<string, unknown>[] = [];
  if (output.reasoning !== "") {
    blocks.push({ type: "thinking", thinking: output.reasoning, signature: "" });
  }
  if (output.content !== null && output.content !== "") {
    blocks.push({ type: "text", text: output.content });
  }
  blocks.push(...output.toolCalls.map(toolUse));
  return blocks;
}

/** Anthropic's shapes: one `message`, or its stream of named events. */
function messagesFormat(
  message: { id: string; model: string },
  promptTokens: number,
  callTools: boolean,
  chat: ChatOutput,
): AnswerFormat {
  const base = { id: message.id, type: "message", role: "assistant", model: message.model };
  const event = (name: string, data: Record<string, unknown>) =>
    new NamedEvent(name, { type: name, ...data });
  let textOpen = false;
  let blocks = 0;
  const openText = (): NamedEvent[] => {
    textOpen = true;
    return [
      event("content_block_start", { index: blocks, content_block: { type: "text", text: "" } }),
    ];
  };
  const textDelta = (text: string) =>
    event("content_block_delta", { index: blocks, delta: { type: "text_delta", text } });
  const closeBlock = () => event("content_block_stop", { index: blocks++ });
  return {
    done: false,
    whole(out) {
      chat.push(out.text);
      chat.finish();
      const output = parsedOutput(chat.message);
      return {
        ...base,
        content: contentBlocks(output),
        stop_reason: stopReason(out.result, output),
        stop_sequence: out.result.finishReason === "stop" ? out.result.stopString : null,
        stop_details: null,
        usage: usage(out.result),
      };
    },
    opening: () => [
      event("message_start", {
        message: {
          ...base,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          stop_details: null,
          usage: {
            input_tokens: promptTokens,
            cache_read_input_tokens: 0,
            cache_creation_input_tokens: 0,
            output_tokens: 0,
          },
        },
      }),
      event("ping", {}),
    ],
    chunks(token) {
      const deltas = chat.push(token.text);
      // With tools, the answer is held back until it can be told apart from text.
      if (callTools) return [];
      const text = deltas.map((d) => d.content ?? "").join("");
      if (text === "") return [];
      return [...(textOpen ? [] : openText()), textDelta(text)];
    },
    closing(result) {
      const out: NamedEvent[] = [];
      const rest = chat.finish().map((d) => d.content ?? "").join("");
      const output = parsedOutput(chat.message);
      if (callTools && output.content !== null && output.content !== "") {
        out.push(...openText(), textDelta(output.content));
      } else if (!callTools && rest !== "") {
        out.push(...(textOpen ? [] : openText()), textDelta(rest));
      }
      if (textOpen) out.push(closeBlock());
      for (const call of output.toolCalls) {
        const block = toolUse(call);
        out.push(
          event("content_block_start", { index: blocks, content_block: { ...block, input: {} } }),
          event("content_block_delta", {
            index: blocks,
            delta: { type: "input_json_delta", partial_json: JSON.stringify(block.input) },
          }),
          closeBlock(),
        );
      }
      if (blocks === 0) out.push(...openText(), closeBlock());
      const { output_tokens, ...input } = usage(result);
      out.push(
        event("message_delta", {
          delta: {
            stop_reason: stopReason(result, output),
            stop_sequence: result.finishReason === "stop" ? result.stopString : null,
            stop_details: null,
          },
          usage: { output_tokens, ...input },
        }),
        event("message_stop", {}),
      );
      return out;
    },
    errorEvent: (error) => new NamedEvent("error", error.bodyIn("anthropic")),
  };
}
