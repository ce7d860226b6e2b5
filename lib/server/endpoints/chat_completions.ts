/**
 * `POST /v1/chat/completions`: OpenAI chat, streamed (SSE) or not. The prompt comes
 * from the chat template; `tools` go to templates that read them, and tool calls in the
 * answer are returned as `tool_calls` (a streamed answer with tools is sent whole at the
 * end, once it can be told apart from text).
 *
 * @module
 */
import type { Handler } from "hono";
import { chatPrompt } from "../../engine/chat_template.ts";
import type { AppEnv } from "../api/app_env.ts";
import type { ServerState } from "../api/server_state.ts";
import { invalidRequest, streamErrorEvent } from "../api/errors.ts";
import {
  chatLogprob,
  checkPromptFits,
  checkTimedOut,
  collect,
  completionId,
  events,
  finishReason,
  reportedModel,
  slotRequest,
  type Started,
  startedEmpty,
  startGeneration,
  SYSTEM_FINGERPRINT,
  timings,
  unixTime,
  usage,
  vocabInfo,
} from "../api/generation.ts";
import { parseGenerationParams } from "../api/generation_params.ts";
import { parseMessages, parseTools } from "../api/messages.ts";
import { sseResponse } from "../api/sse.ts";
import { parseToolCalls } from "../api/tool_calls.ts";
import { optionalBoolean, optionalObject, parseJsonBody } from "../api/validate.ts";

/** The handler of `POST /v1/chat/completions`. */
export function chatCompletions(state: ServerState): Handler<AppEnv> {
  return async function chatCompletions(c) {
    const engine = state.engine();
    const body = parseJsonBody(await c.req.text());
    const messages = parseMessages(body);
    const tools = parseTools(body);
    if (tools !== null && !engine.template.supportsTools) {
      throw invalidRequest(
        `tools are not supported: the chat template (${engine.template.origin}) does not use them`,
        "tools",
      );
    }
    const params = parseGenerationParams(body, "chat", vocabInfo(engine), state.config.defaults);
    const callTools = tools !== null && tools.choice !== "none";
    if (callTools && params.sampling.grammar !== undefined) {
      throw invalidRequest("grammar and response_format cannot be combined with tools", "tools");
    }
    let prompt;
    try {
      prompt = chatPrompt(engine.model, engine.template, messages, {
        addGenerationPrompt: optionalBoolean(body, "add_generation_prompt") ?? true,
        ...(tools !== null && { tools: tools.tools, toolChoice: tools.choice }),
        ...(optionalObject(body, "chat_template_kwargs") &&
          { extra: optionalObject(body, "chat_template_kwargs") }),
      });
    } catch (error) {
      if (error instanceof RangeError) throw invalidRequest(error.message, "messages");
      throw error;
    }
    checkPromptFits(engine, prompt.tokens.length);
    const deadline = c.get("deadline");
    const started = params.maxTokens === 0
      ? startedEmpty(prompt.tokens.length)
      : await startGeneration(engine, slotRequest(prompt.tokens, params), deadline.signal);
    const base = {
      id: completionId("chatcmpl-"),
      object: "chat.completion",
      created: unixTime(),
      model: reportedModel(body, state.config.modelName),
      system_fingerprint: SYSTEM_FINGERPRINT,
    };
    if (!params.stream) {
      const out = await collect(started);
      checkTimedOut(out.result, deadline);
      const parsed = callTools ? parseToolCalls(out.text) : { content: out.text, toolCalls: [] };
      const message: Record<string, unknown> = { role: "assistant", content: parsed.content };
      if (parsed.toolCalls.length > 0) message.tool_calls = parsed.toolCalls;
      return c.json({
        ...base,
        choices: [{
          index: 0,
          message,
          logprobs: params.logprobs ? { content: out.probs.map(chatLogprob) } : null,
          finish_reason: parsed.toolCalls.length > 0 ? "tool_calls" : finishReason(out.result),
        }],
        usage: usage(out.result),
        timings: timings(out.result),
      });
    }
    const release = deadline.hold();
    const requestId = c.get("requestId");
    return sseResponse(
      chunks(
        started,
        { ...base, object: "chat.completion.chunk" },
        callTools,
        params.includeUsage,
        deadline,
      ),
      {
        done: true,
        onCancel: started.abort,
        onClose: release,
        errorEvent: (error) => streamErrorEvent(error, requestId),
      },
    );
  };
}

async function* chunks(
  started: Started,
  base: Record<string, unknown>,
  callTools: boolean,
  includeUsage: boolean,
  deadline: { timedOut(): boolean },
): AsyncGenerator<unknown> {
  const chunk = (
    delta: Record<string, unknown>,
    extra: Record<string, unknown> = {},
    finish: string | null = null,
  ) => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, ...extra }],
  });
  yield chunk({ role: "assistant", content: null });
  let held = "";
  for await (const event of events(started)) {
    if (callTools) {
      held += event.text;
      continue;
    }
    if (event.text === "" && !event.logprob) continue;
    const logprobs = event.logprob
      ? { content: [chatLogprob({ logprob: event.logprob, top: event.top ?? [] })] }
      : null;
    yield chunk({ content: event.text }, { logprobs });
  }
  const result = await started.result;
  checkTimedOut(result, deadline);
  let finish: string = finishReason(result);
  if (callTools) {
    const parsed = parseToolCalls(held);
    if (parsed.content !== null) yield chunk({ content: parsed.content });
    if (parsed.toolCalls.length > 0) {
      finish = "tool_calls";
      yield chunk({ tool_calls: parsed.toolCalls.map((call, index) => ({ index, ...call })) });
    }
  }
  const stats = { usage: usage(result), timings: timings(result) };
  yield { ...chunk({}, {}, finish), ...stats };
  if (includeUsage) yield { ...base, choices: [], ...stats };
}
