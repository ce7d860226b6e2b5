/**
 * `POST /v1/chat/completions`: OpenAI chat, streamed (SSE) or not. The prompt comes from the
 * chat format of the model's template (chat_turn.ts); the answer is read back through it
 * (chat_output.ts): `reasoning_content`, `content` and `tool_calls`, streamed as deltas as
 * llama.cpp's server streams them (a tool call's id, type and name first, then its argument
 * text).
 *
 * @module
 */
import { createFactory } from "hono/factory";
import * as z from "zod/mini";
import type { MessageDelta, ParsedMessage } from "../../engine/chat_formats/chat_message.ts";
import type { SlotResult } from "../../engine/slots.ts";
import type { AppEnv } from "../api/app_env.ts";
import { ChatOutput } from "../api/chat_output.ts";
import {
  chatGeneration,
  type ChatTurn,
  DEFAULT_CHAT_OPTIONS,
  prepareChat,
} from "../api/chat_turn.ts";
import {
  type AnswerFormat,
  chatLogprob,
  completionId,
  finishReason,
  reportedModel,
  respond,
  SYSTEM_FINGERPRINT,
  timings,
  unixTime,
  usage,
  vocabInfo,
} from "../api/generation.ts";
import {
  GENERATION_FIELDS,
  type GenerationParams,
  toGenerationParams,
} from "../api/generation_params.ts";
import { jsonBody, readJsonBody } from "../api/json_body.ts";
import { MESSAGES, TOOL_CHOICE, toolRequest, TOOLS } from "../api/messages.ts";
import type { ServerState } from "../api/server_state.ts";
import { boolean, jsonObject, oneOf, optional } from "../api/validate.ts";

/** The request body of `POST /v1/chat/completions`. */
export const CHAT_COMPLETION_REQUEST = z.object({
  ...GENERATION_FIELDS.chat,
  messages: MESSAGES,
  tools: optional(TOOLS),
  tool_choice: optional(TOOL_CHOICE),
  parallel_tool_calls: optional(boolean()),
  add_generation_prompt: optional(boolean()),
  chat_template_kwargs: optional(jsonObject()),
  reasoning_format: optional(oneOf(["none", "auto", "deepseek", "deepseek-legacy"])),
});

/** The chat turn of a chat completion request. */
function requestTurn(body: z.output<typeof CHAT_COMPLETION_REQUEST>): ChatTurn {
  return {
    messages: body.messages,
    tools: toolRequest(body.tools, body.tool_choice),
    addGenerationPrompt: body.add_generation_prompt ?? true,
    kwargs: body.chat_template_kwargs,
    parallelToolCalls: body.parallel_tool_calls,
    reasoningFormat: body.reasoning_format,
  };
}

/** The handlers of `POST /v1/chat/completions`. */
export function chatCompletions(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(CHAT_COMPLETION_REQUEST),
    async function chatCompletions(c) {
      const engine = state.engine();
      const body = c.req.valid("json");
      const options = state.config.chat ?? DEFAULT_CHAT_OPTIONS;
      const params = toGenerationParams(body, "chat", vocabInfo(engine), state.config.defaults);
      const chat = await prepareChat(engine, requestTurn(body), options);
      chatGeneration(engine, chat, params, options);
      const base = {
        id: completionId("chatcmpl-"),
        object: "chat.completion",
        created: unixTime(),
        model: reportedModel(body.model, state.config.modelName),
        system_fingerprint: SYSTEM_FINGERPRINT,
      };
      return await respond(
        c,
        engine,
        chat.tokens,
        params,
        chatFormat(base, params, new ChatOutput(chat.params)),
      );
    },
  );
}

/**
 * The handlers of `POST /apply-template`: the prompt the model's chat format makes of a chat
 * completion request (its messages, tools, `add_generation_prompt`, `chat_template_kwargs`
 * and the server's `--reasoning`), as text, without generating (llama.cpp's endpoint).
 */
export function applyTemplate(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(CHAT_COMPLETION_REQUEST),
    async function applyTemplate(c) {
      const engine = state.engine();
      const body = c.req.valid("json");
      const chat = await prepareChat(
        engine,
        requestTurn(body),
        state.config.chat ?? DEFAULT_CHAT_OPTIONS,
      );
      return c.json({ prompt: chat.text });
    },
  );
}

/** The assistant message of an answer, as OpenAI writes it. */
export function assistantMessage(message: ParsedMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {
    role: "assistant",
    content: message.content === "" && message.toolCalls.length > 0 ? null : message.content,
  };
  if (message.reasoningContent !== "") out.reasoning_content = message.reasoningContent;
  if (message.toolCalls.length > 0) {
    out.tool_calls = message.toolCalls.map((call) => ({
      id: call.id,
      type: "function",
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  return out;
}

/** One stream delta as OpenAI writes it (upstream server_chat_msg_diff_to_json_oaicompat). */
export function deltaJson(delta: MessageDelta): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (delta.reasoningContent) out.reasoning_content = delta.reasoningContent;
  if (delta.content) out.content = delta.content;
  if (delta.toolCall) {
    const d = delta.toolCall;
    const call: Record<string, unknown> = { index: d.index };
    if (d.id !== "") {
      call.id = d.id;
      call.type = "function";
    }
    if (d.name !== "" || d.arguments !== "") {
      call.function = {
        ...(d.name !== "" && { name: d.name }),
        ...(d.arguments !== "" && { arguments: d.arguments }),
      };
    }
    out.tool_calls = [call];
  }
  return out;
}

/** OpenAI's finish reason of a chat answer: `tool_calls` when it ended with calls. */
function chatFinish(result: SlotResult, message: ParsedMessage): string {
  const reason = finishReason(result);
  return reason === "stop" && message.toolCalls.length > 0 ? "tool_calls" : reason;
}

/** The chat completion shapes: `choices[0].message`, or `chat.completion.chunk` deltas. */
function chatFormat(
  base: Record<string, unknown>,
  params: GenerationParams,
  output: ChatOutput,
): AnswerFormat {
  const chunkBase = { ...base, object: "chat.completion.chunk" };
  const chunk = (
    delta: Record<string, unknown>,
    extra: Record<string, unknown> = {},
    finish: string | null = null,
  ) => ({
    ...chunkBase,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, ...extra }],
  });
  return {
    done: true,
    whole(out) {
      output.push(out.text);
      output.finish();
      const message = output.message;
      return {
        ...base,
        choices: [{
          index: 0,
          message: assistantMessage(message),
          logprobs: params.logprobs ? { content: out.probs.map(chatLogprob) } : null,
          finish_reason: chatFinish(out.result, message),
        }],
        usage: usage(out.result),
        timings: timings(out.result),
      };
    },
    opening: () => [chunk({ role: "assistant", content: null })],
    chunks(event) {
      const deltas = output.push(event.text);
      if (deltas.length === 0) return [];
      const logprobs = event.logprob
        ? { content: [chatLogprob({ logprob: event.logprob, top: event.top ?? [] })] }
        : null;
      return deltas.map((delta, i) =>
        chunk(deltaJson(delta), { logprobs: i === deltas.length - 1 ? logprobs : null })
      );
    },
    closing(result) {
      const out: unknown[] = output.finish().map((delta) => chunk(deltaJson(delta)));
      const stats = { usage: usage(result), timings: timings(result) };
      out.push({ ...chunk({}, {}, chatFinish(result, output.message)), ...stats });
      if (params.includeUsage) out.push({ ...chunkBase, choices: [], ...stats });
      return out;
    },
  };
}
