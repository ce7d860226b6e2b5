/**
 * `POST /v1/chat/completions`: OpenAI chat, streamed (SSE) or not. The prompt comes
 * from the chat template; `tools` go to templates that read them, and tool calls in the
 * answer are returned as `tool_calls` (a streamed answer with tools is sent whole at the
 * end, once it can be told apart from text).
 *
 * @module
 */
import { createFactory } from "hono/factory";
import * as z from "zod/mini";
import type { AppEnv } from "../api/app_env.ts";
import { callsTools, chatInput, toolGrammar } from "../api/chat_turn.ts";
import { invalidRequest } from "../api/errors.ts";
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
import { parseToolCalls } from "../api/tool_calls.ts";
import { boolean, jsonObject, optional } from "../api/validate.ts";

/** The request body of `POST /v1/chat/completions`. */
export const CHAT_COMPLETION_REQUEST = z.object({
  ...GENERATION_FIELDS.chat,
  messages: MESSAGES,
  tools: optional(TOOLS),
  tool_choice: optional(TOOL_CHOICE),
  add_generation_prompt: optional(boolean()),
  chat_template_kwargs: optional(jsonObject()),
});

/** The handlers of `POST /v1/chat/completions`. */
export function chatCompletions(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(CHAT_COMPLETION_REQUEST),
    async function chatCompletions(c) {
      const engine = state.engine();
      const body = c.req.valid("json");
      const tools = toolRequest(body.tools, body.tool_choice);
      const params = toGenerationParams(body, "chat", vocabInfo(engine), state.config.defaults);
      const callTools = callsTools(tools);
      if (callTools && params.sampling.grammar !== undefined) {
        throw invalidRequest("grammar and response_format cannot be combined with tools", "tools");
      }
      if (tools !== null && callTools) {
        const grammar = toolGrammar(engine.template, tools);
        if (grammar !== undefined) params.sampling.grammar = grammar;
      }
      const base = {
        id: completionId("chatcmpl-"),
        object: "chat.completion",
        created: unixTime(),
        model: reportedModel(body.model, state.config.modelName),
        system_fingerprint: SYSTEM_FINGERPRINT,
      };
      // Last before respond(), which frees a prompt's images once it is done with them.
      const input = await chatInput(engine, {
        messages: body.messages,
        tools,
        addGenerationPrompt: body.add_generation_prompt ?? true,
        kwargs: body.chat_template_kwargs,
      });
      return await respond(c, engine, input, params, chatFormat(base, params, callTools));
    },
  );
}

/** The chat completion shapes: `choices[0].message`, or `chat.completion.chunk` deltas. */
function chatFormat(
  base: Record<string, unknown>,
  params: GenerationParams,
  callTools: boolean,
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
  let held = "";
  return {
    done: true,
    whole(out) {
      const parsed = callTools ? parseToolCalls(out.text) : { content: out.text, toolCalls: [] };
      const message: Record<string, unknown> = { role: "assistant", content: parsed.content };
      if (parsed.toolCalls.length > 0) message.tool_calls = parsed.toolCalls;
      return {
        ...base,
        choices: [{
          index: 0,
          message,
          logprobs: params.logprobs ? { content: out.probs.map(chatLogprob) } : null,
          finish_reason: parsed.toolCalls.length > 0 ? "tool_calls" : finishReason(out.result),
        }],
        usage: usage(out.result),
        timings: timings(out.result),
      };
    },
    opening: () => [chunk({ role: "assistant", content: null })],
    chunks(event) {
      // With tools, the answer is held back until it can be told apart from text.
      if (callTools) {
        held += event.text;
        return [];
      }
      if (event.text === "" && !event.logprob) return [];
      const logprobs = event.logprob
        ? { content: [chatLogprob({ logprob: event.logprob, top: event.top ?? [] })] }
        : null;
      return [chunk({ content: event.text }, { logprobs })];
    },
    closing(result) {
      const out: unknown[] = [];
      let finish: string = finishReason(result);
      if (callTools) {
        const parsed = parseToolCalls(held);
        if (parsed.content !== null) out.push(chunk({ content: parsed.content }));
        if (parsed.toolCalls.length > 0) {
          finish = "tool_calls";
          out.push(
            chunk({ tool_calls: parsed.toolCalls.map((call, index) => ({ index, ...call })) }),
          );
        }
      }
      const stats = { usage: usage(result), timings: timings(result) };
      out.push({ ...chunk({}, {}, finish), ...stats });
      if (params.includeUsage) out.push({ ...chunkBase, choices: [], ...stats });
      return out;
    },
  };
}
