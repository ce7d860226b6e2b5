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
import { callsTools, chatRender, toolGrammar } from "../api/chat_turn.ts";
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
import { parseToolCalls } from "../api/tool_calls.ts";
import { boolean, jsonObject, optional } from "../api/validate.ts";
import { completionsNotSupported } from "./completion.ts";

/** The request body of `POST /v1/chat/completions`. */
export const CHAT_COMPLETION_REQUEST = z.object({
  ...GENERATION_FIELDS.chat,
  messages: MESSAGES,
  tools: optional(TOOLS),
  tool_choice: optional(TOOL_CHOICE),
  add_generation_prompt: optional(boolean()),
  continue_final_message: optional(boolean()),
  chat_template_kwargs: optional(jsonObject()),
});

/** A chat completion request, parsed. */
type ChatRequest = z.output<typeof CHAT_COMPLETION_REQUEST>;

/**
 * The prompt of a chat completion request, as llama.cpp builds it: a trailing assistant message
 * is continued (prefilled) unless `--no-prefill-assistant`; `continue_final_message` asks for
 * that explicitly and cannot be combined with `add_generation_prompt`.
 */
export async function chatRequestPrompt(
  engine: Engine,
  state: ServerState,
  body: ChatRequest,
  rawBody?: unknown,
): Promise<
  { text: string; tokens: number[]; callTools: boolean; tools: ReturnType<typeof toolRequest> }
> {
  const tools = toolRequest(body.tools, body.tool_choice);
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
  const prompt = await chatRender(engine, {
    messages: continued,
    tools,
    addGenerationPrompt,
    kwargs: body.chat_template_kwargs,
    continueFinal,
  });
  return { ...prompt, callTools: callsTools(tools), tools };
}

/** The handlers of `POST /chat/completions/input_tokens`: the prompt's token count. */
export function chatInputTokens(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(CHAT_COMPLETION_REQUEST),
    async function chatInputTokens(c) {
      const engine = state.engine();
      const prompt = await chatRequestPrompt(
        engine,
        state,
        c.req.valid("json"),
        await c.req.json(),
      );
      return c.json({ input_tokens: prompt.tokens.length });
    },
  );
}

/** The handlers of `POST /apply-template`: the prompt the chat template makes of the messages. */
export function applyTemplate(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(CHAT_COMPLETION_REQUEST),
    async function applyTemplate(c) {
      const engine = state.engine();
      const body = c.req.valid("json");
      const prompt = await chatRequestPrompt(engine, state, body, await c.req.json());
      return c.json({ prompt: prompt.text });
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

/** The handlers of `POST /v1/chat/completions`. */
export function chatCompletions(state: ServerState) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(CHAT_COMPLETION_REQUEST),
    async function chatCompletions(c) {
      const engine = state.engine();
      if (engine.embeddingsOnly) throw completionsNotSupported();
      const body = c.req.valid("json");
      const params = toGenerationParams(body, "chat", vocabInfo(engine), state.config.defaults);
      const prompt = await chatRequestPrompt(engine, state, body, await c.req.json());
      const { tools, callTools, tokens } = prompt;
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
      const tasks = Array.from({ length: params.n }, () => ({ tokens, params: { ...params } }));
      return await respondTasks(
        c,
        engine,
        tasks,
        (index) =>
          chatFormat(
            base,
            params,
            callTools,
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

/** The chat completion shapes: `choices[0].message`, or `chat.completion.chunk` deltas. */
function chatFormat(
  base: Record<string, unknown>,
  params: GenerationParams,
  callTools: boolean,
  index = 0,
  verbose: (
    out: { text: string; result: import("../../engine/slots.ts").SlotResult },
  ) => Record<string, unknown> | null = () => null,
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
  let held = "";
  return {
    done: true,
    whole(out) {
      const parsed = callTools ? parseToolCalls(out.text) : { content: out.text, toolCalls: [] };
      const message: Record<string, unknown> = { role: "assistant", content: parsed.content };
      if (parsed.toolCalls.length > 0) message.tool_calls = parsed.toolCalls;
      const debug = verbose(out);
      return {
        ...base,
        ...(debug !== null && { __verbose: debug }),
        choices: [{
          index,
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
      const out: Record<string, unknown> = chunk({ content: event.text }, { logprobs });
      const t = params.timingsPerToken ? eventTimings(event) : null;
      if (t !== null) out.timings = t;
      return [out];
    },
    progress(event) {
      const out: Record<string, unknown> = chunk({ role: "assistant", content: null });
      out.prompt_progress = promptProgress(event);
      const t = params.timingsPerToken ? eventTimings(event) : null;
      if (t !== null) out.timings = t;
      return [out];
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
