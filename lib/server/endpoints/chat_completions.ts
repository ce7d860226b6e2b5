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
import { MediaPrompt } from "../../engine/media_prompt.ts";
import type { SlotResult } from "../../engine/slots.ts";
import type { AppEnv } from "../api/app_env.ts";
import { ChatOutput } from "../api/chat_output.ts";
import {
  chatGeneration,
  chatInput,
  type ChatTurn,
  DEFAULT_CHAT_OPTIONS,
  prepareChat,
  type PreparedChat,
} from "../api/chat_turn.ts";
import { invalidRequest } from "../api/errors.ts";
import {
  type AnswerFormat,
  chatLogprob,
  completionId,
  eventTimings,
  finishReason,
  promptProgress,
  reportedModel,
  respondTasks,
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
import type { Engine, ServerState } from "../api/server_state.ts";
import { boolean, jsonObject, oneOf, optional } from "../api/validate.ts";
import { completionsNotSupported } from "./completion.ts";

/** The request body of `POST /v1/chat/completions`. */
export const CHAT_COMPLETION_REQUEST = z.object({
  ...GENERATION_FIELDS.chat,
  messages: MESSAGES,
  tools: optional(TOOLS),
  tool_choice: optional(TOOL_CHOICE),
  parallel_tool_calls: optional(boolean()),
  add_generation_prompt: optional(boolean()),
  continue_final_message: optional(boolean()),
  chat_template_kwargs: optional(jsonObject()),
  reasoning_format: optional(oneOf(["none", "auto", "deepseek", "deepseek-legacy"])),
});

/** A chat completion request, parsed. */
type ChatRequest = z.output<typeof CHAT_COMPLETION_REQUEST>;

/**
 * The chat turn of a chat completion request, as llama.cpp builds it: a trailing assistant
 * message is continued (prefilled) unless `--no-prefill-assistant`; `continue_final_message`
 * asks for that explicitly and cannot be combined with `add_generation_prompt`.
 */
function requestTurn(state: ServerState, body: ChatRequest, rawBody?: unknown): ChatTurn {
  const messages = body.messages;
  let addGenerationPrompt = body.add_generation_prompt ?? true;
  let continueFinal = body.continue_final_message ?? false;
  const last = messages.at(-1);
  if (!continueFinal && (state.config.prefillAssistant ?? true) && last?.role === "assistant") {
    if (messages.at(-2)?.role === "assistant") {
      throw invalidRequest(
        "Cannot have 2 or more assistant messages at the end of the list",
        "messages",
      );
    }
    continueFinal = true;
    addGenerationPrompt = false;
  }
  if (continueFinal && body.add_generation_prompt === true) {
    throw invalidRequest(
      "Cannot set both add_generation_prompt and continue_final_message to true",
      "continue_final_message",
    );
  }
  if (continueFinal && last?.role === "assistant" && (last.tool_calls?.length ?? 0) > 0) {
    throw invalidRequest(
      "Cannot continue an assistant message that contains tool calls",
      "continue_final_message",
    );
  }
  // A continued message's text parts are joined with blank lines (llama.cpp's render_content).
  const rawLast = (rawBody as { messages?: { content?: unknown }[] } | undefined)?.messages?.at(-1);
  const parts = continueFinal && Array.isArray(rawLast?.content)
    ? rawLast.content as { type?: unknown; text?: unknown }[]
    : null;
  const continued = parts === null ? messages : [
    ...messages.slice(0, -1),
    {
      ...messages.at(-1)!,
      content: parts.filter((p) => p?.type === "text").map((p) => String(p.text)).join("\n\n"),
    },
  ];
  return {
    messages: continued,
    tools: toolRequest(body.tools, body.tool_choice),
    addGenerationPrompt: continueFinal ? false : addGenerationPrompt,
    kwargs: body.chat_template_kwargs,
    parallelToolCalls: body.parallel_tool_calls,
    reasoningFormat: body.reasoning_format,
    continueFinal,
  };
}

/** The chat format of the engine's template applied to a chat completion request. */
async function requestChat(
  engine: Engine,
  state: ServerState,
  body: ChatRequest,
  rawBody: unknown,
): Promise<PreparedChat> {
  return await prepareChat(
    engine,
    requestTurn(state, body, rawBody),
    state.config.chat ?? DEFAULT_CHAT_OPTIONS,
  );
}

/** The handlers of `POST /v1/chat/completions`. */
export function chatCompletions(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(CHAT_COMPLETION_REQUEST),
    async function chatCompletions(c) {
      const engine = state.engine();
      if (engine.embeddingsOnly) throw completionsNotSupported();
      const body = c.req.valid("json");
      const options = state.config.chat ?? DEFAULT_CHAT_OPTIONS;
      const params = toGenerationParams(body, "chat", vocabInfo(engine), state.config.defaults);
      const { chat, input } = await chatInput(
        engine,
        requestTurn(state, body, await c.req.json()),
        options,
      );
      try {
        chatGeneration(engine, chat, params, options);
      } catch (error) {
        if (input instanceof MediaPrompt) input.close();
        throw error;
      }
      const base = {
        id: completionId("chatcmpl-"),
        object: "chat.completion",
        created: unixTime(),
        model: reportedModel(body.model, state.config.modelName),
        system_fingerprint: SYSTEM_FINGERPRINT,
      };
      const tokens = chat.tokens;
      const tasks = Array.from({ length: params.n }, () => ({
        tokens: input,
        params: { ...params },
      }));
      return await respondTasks(
        c,
        engine,
        tasks,
        (index) =>
          chatFormat(
            base,
            params,
            new ChatOutput(chat.params),
            index,
            (out) =>
              params.verbose
                ? verboseObject(
                  engine.model.detokenize(tokens, { unparseSpecial: true }),
                  out.text,
                  out.result,
                )
                : null,
          ),
        (bodies) => mergeChoices(bodies),
      );
    },
  );
}

/** The handlers of `POST /chat/completions/input_tokens`: the prompt's token count. */
export function chatInputTokens(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(CHAT_COMPLETION_REQUEST),
    async function chatInputTokens(c) {
      const chat = await requestChat(
        state.engine(),
        state,
        c.req.valid("json"),
        await c.req.json(),
      );
      return c.json({ input_tokens: chat.tokens.length });
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
      const chat = await requestChat(
        state.engine(),
        state,
        c.req.valid("json"),
        await c.req.json(),
      );
      return c.json({ prompt: chat.text });
    },
  );
}

/** llama.cpp's `__verbose` object: what was run and what came out. */
function verboseObject(
  prompt: string,
  content: string,
  result: { completionTokens: number; promptTokens: number },
): Record<string, unknown> {
  return {
    prompt,
    content,
    tokens_predicted: result.completionTokens,
    tokens_evaluated: result.promptTokens,
  };
}

/** The answers of `n` choices as one: their choices in order, their usage summed. */
export function mergeChoices(bodies: unknown[]): unknown {
  if (bodies.length === 1) return bodies[0];
  const all = bodies as Record<string, unknown>[];
  const first = { ...all[0]! };
  first.choices = all.flatMap((b) => b.choices as unknown[]);
  const sum = (key: string) =>
    all.reduce((n, b) => n + (((b.usage as Record<string, number>) ?? {})[key] ?? 0), 0);
  first.usage = {
    prompt_tokens: sum("prompt_tokens"),
    completion_tokens: sum("completion_tokens"),
    total_tokens: sum("total_tokens"),
  };
  return first;
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
  index = 0,
  verbose: (out: { text: string; result: SlotResult }) => Record<string, unknown> | null = () =>
    null,
): AnswerFormat {
  const chunkBase = { ...base, object: "chat.completion.chunk" };
  const chunk = (
    delta: Record<string, unknown>,
    extra: Record<string, unknown> = {},
    finish: string | null = null,
  ) => ({
    ...chunkBase,
    choices: [{ index, delta, logprobs: null, finish_reason: finish, ...extra }],
  });
  return {
    done: true,
    whole(out) {
      output.push(out.text);
      output.finish();
      const message = output.message;
      const debug = verbose(out);
      return {
        ...base,
        ...(debug !== null && { __verbose: debug }),
        choices: [{
          index,
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
      const t = params.timingsPerToken ? eventTimings(event) : null;
      return deltas.map((delta, i) => {
        const last = i === deltas.length - 1;
        const out: Record<string, unknown> = chunk(deltaJson(delta), {
          logprobs: last ? logprobs : null,
        });
        if (last && t !== null) out.timings = t;
        return out;
      });
    },
    progress(event) {
      const out: Record<string, unknown> = chunk({ role: "assistant", content: null });
      out.prompt_progress = promptProgress(event);
      const t = params.timingsPerToken ? eventTimings(event) : null;
      if (t !== null) out.timings = t;
      return [out];
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
