/**
 * `POST /v1/responses`: OpenAI's Responses API, whole or streamed as its named events
 * (`response.created` … `response.completed`), on the same chat template, slots, grammars and
 * tool-call parsing as chat completions. Unlike llama.cpp's, ollama's and llamafile's, it keeps
 * state: a response is stored (unless `store` is false) with its conversation, so a later
 * request continues it with `previous_response_id`, and the slot that ran it still holds the
 * conversation's tokens, so only the new turn is evaluated.
 *
 * @module
 */
import { createFactory } from "hono/factory";
import type { ChatMessage } from "../../engine/chat_template.ts";
import { SAMPLING_DEFAULTS } from "../../engine/sampler.ts";
import type { SlotResult, TokenEvent } from "../../engine/slots.ts";
import type { AppEnv } from "../api/app_env.ts";
import { ChatOutput } from "../api/chat_output.ts";
import { callsTools, chatGeneration, DEFAULT_CHAT_OPTIONS, prepareChat } from "../api/chat_turn.ts";
import type { ApiError } from "../api/errors.ts";
import {
  type AnswerFormat,
  chatLogprob,
  type Collected,
  completionId,
  reportedModel,
  respond,
  unixTime,
  vocabInfo,
} from "../api/generation.ts";
import { type GenerationParams, toGenerationParams } from "../api/generation_params.ts";
import { jsonBody, readJsonBody } from "../api/json_body.ts";
import type { ResponseStore } from "../api/response_store.ts";
import {
  RESPONSES_REQUEST,
  responsesGeneration,
  type ResponsesRequest,
  responsesTurn,
} from "../api/responses.ts";
import type { ServerState } from "../api/server_state.ts";
import { NamedEvent } from "../api/sse.ts";
import { type ParsedOutput, parsedOutput, type ToolCall } from "../api/tool_calls.ts";

/** The handlers of `POST /v1/responses`. */
export function responses(state: ServerState, store: ResponseStore) {
  return createFactory<AppEnv>().createHandlers(
    readJsonBody,
    jsonBody(RESPONSES_REQUEST),
    async function responses(c) {
      const engine = state.engine();
      const body = c.req.valid("json");
      const turn = responsesTurn(body, store);
      const params = toGenerationParams(
        responsesGeneration(body),
        "chat",
        vocabInfo(engine),
        state.config.defaults,
      );
      const options = state.config.chat ?? DEFAULT_CHAT_OPTIONS;
      const chat = await prepareChat(engine, turn, options, "input");
      chatGeneration(engine, chat, params, options);
      const tokens = chat.tokens;
      const callTools = callsTools(turn.tools);
      const base = responseBase(body, params, reportedModel(body.model, state.config.modelName));
      const keep = (response: Record<string, unknown>, output: ParsedOutput) => {
        if (body.store === false) return;
        store.put(response.id as string, {
          response,
          history: [...turn.history, assistantMessage(output)],
        });
      };
      return await respond(
        c,
        engine,
        tokens,
        params,
        responsesFormat(base, params, callTools, keep, new ChatOutput(chat.params)),
      );
    },
  );
}

/** The fields of a response object that the request decides. */
function responseBase(
  body: ResponsesRequest,
  params: GenerationParams,
  model: string,
): Record<string, unknown> {
  return {
    id: completionId("resp_"),
    object: "response",
    created_at: unixTime(),
    status: "in_progress",
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model,
    output: [],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    store: body.store ?? true,
    temperature: params.sampling.temperature ?? SAMPLING_DEFAULTS.temperature,
    text: { format: body.text?.format ?? { type: "text" } },
    tool_choice: body.tool_choice ?? "auto",
    tools: body.tools ?? [],
    top_logprobs: body.top_logprobs ?? 0,
    top_p: params.sampling.topP ?? SAMPLING_DEFAULTS.topP,
    truncation: body.truncation ?? "disabled",
    usage: null,
    user: body.user ?? null,
    metadata: body.metadata ?? {},
  };
}

/** The assistant message a response adds to its conversation. */
function assistantMessage(output: ParsedOutput): ChatMessage {
  return {
    role: "assistant",
    content: output.content,
    ...(output.toolCalls.length > 0 && {
      tool_calls: output.toolCalls.map((call) => ({
        id: call.id,
        type: "function",
        function: call.function,
      })),
    }),
  };
}

/** Responses `usage`. */
function usage(result: SlotResult): Record<string, unknown> {
  return {
    input_tokens: result.promptTokens,
    input_tokens_details: { cached_tokens: result.cachedTokens },
    output_tokens: result.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: result.promptTokens + result.completionTokens,
  };
}

/** True when generation stopped at a token limit (the response is `incomplete`). */
function cutShort(result: SlotResult): boolean {
  return result.finishReason === "length" || result.finishReason === "context";
}

/** A `function_call` output item. */
function functionCall(call: ToolCall, status: string): Record<string, unknown> {
  return {
    id: `fc_${call.id.replace(/^call_/, "")}`,
    type: "function_call",
    status,
    call_id: call.id,
    name: call.function.name,
    arguments: call.function.arguments,
  };
}

type Logprob = ReturnType<typeof chatLogprob>;

/** The Responses shapes: one `response`, or its stream of named events. */
function responsesFormat(
  base: Record<string, unknown>,
  params: GenerationParams,
  callTools: boolean,
  keep: (response: Record<string, unknown>, output: ParsedOutput) => void,
  chat: ChatOutput,
): AnswerFormat {
  const messageId = completionId("msg_");
  let sequence = 0;
  const event = (name: string, data: Record<string, unknown>) =>
    new NamedEvent(name, { type: name, sequence_number: sequence++, ...data });
  const part = (text: string, logprobs: Logprob[]) => ({
    type: "output_text",
    text,
    annotations: [],
    logprobs,
  });
  const messageItem = (status: string, content: unknown[]) => ({
    id: messageId,
    type: "message",
    status,
    role: "assistant",
    content,
  });
  const parse = (text: string): ParsedOutput => {
    chat.push(text);
    chat.finish();
    return parsedOutput(chat.message);
  };
  /** The finished response, stored unless the request said not to. */
  const finished = (result: SlotResult, output: ParsedOutput, logprobs: Logprob[]) => {
    const status = cutShort(result) ? "incomplete" : "completed";
    const items: Record<string, unknown>[] = [];
    if (output.toolCalls.length === 0 || (output.content ?? "") !== "") {
      items.push(messageItem(status, [part(output.content ?? "", logprobs)]));
    }
    items.push(...output.toolCalls.map((call) => functionCall(call, "completed")));
    const response = {
      ...base,
      status,
      ...(status === "completed" && { completed_at: unixTime() }),
      incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" } : null,
      output: items,
      usage: usage(result),
    };
    keep(response, output);
    return response;
  };
  let textOpen = false;
  const logprobs: Logprob[] = [];
  const openText = () => {
    textOpen = true;
    return [
      event("response.output_item.added", {
        output_index: 0,
        item: messageItem("in_progress", []),
      }),
      event("response.content_part.added", {
        item_id: messageId,
        output_index: 0,
        content_index: 0,
        part: part("", []),
      }),
    ];
  };
  const delta = (piece: string, probs: Logprob[]) =>
    event("response.output_text.delta", {
      item_id: messageId,
      output_index: 0,
      content_index: 0,
      delta: piece,
      logprobs: probs,
    });
  return {
    done: false,
    whole: (out: Collected) =>
      finished(out.result, parse(out.text), params.logprobs ? out.probs.map(chatLogprob) : []),
    opening: () => {
      const snapshot = { ...base };
      return [
        event("response.created", { response: snapshot }),
        event("response.in_progress", { response: snapshot }),
      ];
    },
    chunks(token: TokenEvent) {
      const probs = token.logprob && params.logprobs
        ? [chatLogprob({ logprob: token.logprob, top: token.top ?? [] })]
        : [];
      logprobs.push(...probs);
      const content = chat.push(token.text).map((d) => d.content ?? "").join("");
      // With tools, the answer is held back until it can be told apart from text.
      if (callTools || (content === "" && probs.length === 0)) return [];
      return [...(textOpen ? [] : openText()), delta(content, probs)];
    },
    closing(result) {
      const rest = chat.finish().map((d) => d.content ?? "").join("");
      const output = parsedOutput(chat.message);
      const response = finished(result, output, logprobs);
      const items = response.output as Record<string, unknown>[];
      const out: NamedEvent[] = [];
      let index = 0;
      for (const item of items) {
        if (item.type === "message") {
          const content = output.content ?? "";
          if (!textOpen) out.push(...openText());
          if (callTools && content !== "") out.push(delta(content, []));
          else if (!callTools && rest !== "") out.push(delta(rest, []));
          const done = part(content, logprobs);
          out.push(
            event("response.output_text.done", {
              item_id: messageId,
              output_index: index,
              content_index: 0,
              text: content,
              logprobs,
            }),
            event("response.content_part.done", {
              item_id: messageId,
              output_index: index,
              content_index: 0,
              part: done,
            }),
            event("response.output_item.done", { output_index: index, item }),
          );
        } else {
          out.push(
            event("response.output_item.added", {
              output_index: index,
              item: { ...item, status: "in_progress", arguments: "" },
            }),
            event("response.function_call_arguments.delta", {
              item_id: item.id,
              output_index: index,
              delta: item.arguments,
            }),
            event("response.function_call_arguments.done", {
              item_id: item.id,
              output_index: index,
              name: item.name,
              arguments: item.arguments,
            }),
            event("response.output_item.done", { output_index: index, item }),
          );
        }
        index++;
      }
      const name = response.status === "incomplete" ? "response.incomplete" : "response.completed";
      out.push(event(name, { response }));
      return out;
    },
    errorEvent: (error: ApiError) =>
      new NamedEvent("error", {
        type: "error",
        sequence_number: sequence++,
        code: error.type,
        message: error.message,
        param: error.param,
      }),
  };
}
