/**
 * Generated text read through a chat format as it grows (upstream task_result_state): each
 * push parses all the text so far as a partial message and returns what changed (reasoning,
 * content, tool calls: name and id first, then argument text), which is what a stream sends;
 * the end parses it whole. Tool calls get ids when they appear, the model's own or `call_...`.
 * Output that does not match the format once complete is kept as plain content (llama.cpp
 * answers 500 there).
 *
 * @module
 */
import { parseChatOutput } from "../../engine/chat_formats/chat_format.ts";
import type { ChatParams } from "../../engine/chat_formats/chat_params.ts";
import {
  emptyMessage,
  type MessageDelta,
  messageDeltas,
  type ParsedMessage,
} from "../../engine/chat_formats/chat_message.ts";

/** A tool call id like OpenAI's. */
export function toolCallId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return "call_" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** One answer's text, parsed as it streams. */
export class ChatOutput {
  readonly #params: ChatParams;
  readonly #ids: string[] = [];
  #text = "";
  #message: ParsedMessage = emptyMessage();
  /** Set when the whole text did not match the format. */
  unparsed = false;

  constructor(params: ChatParams) {
    this.#params = params;
  }

  /** The message as parsed so far. */
  get message(): ParsedMessage {
    return this.#message;
  }

  #withIds(message: ParsedMessage): ParsedMessage {
    message.toolCalls.forEach((call, i) => {
      if (this.#ids.length <= i) this.#ids.push(call.id !== "" ? call.id : toolCallId());
      call.id = this.#ids[i]!;
    });
    return message;
  }

  #update(next: ParsedMessage): MessageDelta[] {
    this.#withIds(next);
    try {
      const deltas = messageDeltas(this.#message, next);
      this.#message = next;
      return deltas;
    } catch {
      // the new parse does not extend the last one: wait for more text
      return [];
    }
  }

  /** Adds generated text; returns the deltas it makes. */
  push(text: string): MessageDelta[] {
    if (text === "") return [];
    this.#text += text;
    let next: ParsedMessage;
    try {
      next = parseChatOutput(this.#params, this.#text, true);
    } catch {
      return [];
    }
    return this.#update(next);
  }

  /** Parses the whole text once generation has ended; returns the last deltas. */
  finish(): MessageDelta[] {
    let next: ParsedMessage;
    try {
      next = parseChatOutput(this.#params, this.#text, false);
    } catch {
      this.unparsed = true;
      next = { content: this.#text, reasoningContent: "", toolCalls: [] };
    }
    const deltas = this.#update(next);
    this.#message = this.#withIds(next);
    return deltas;
  }
}
