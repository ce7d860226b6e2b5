/**
 * The terminal chat's conversation: its messages (after an optional system prompt), a stack
 * for `/push` and `/pop`, and the timings of the answers for `/stats`. Pure: no I/O.
 *
 * @module
 */
import type { ChatMessage } from "../engine/chat_template.ts";
import type { FinishReason } from "../engine/generate.ts";

/** The timings of one answer (the fields of a slot's result that `/stats` shows). */
export interface AnswerTimings {
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  promptMs: number;
  generateMs: number;
  finishReason: FinishReason;
}

/** Sums over the answers of a chat. */
export interface ChatTotals {
  answers: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  promptMs: number;
  generateMs: number;
}

/** A conversation with a stack of saved states. */
export class ChatSession {
  #start: ChatMessage[];
  #messages: ChatMessage[];
  #stack: ChatMessage[][] = [];
  #last: AnswerTimings | null = null;
  #totals: ChatTotals = {
    answers: 0,
    promptTokens: 0,
    cachedTokens: 0,
    completionTokens: 0,
    promptMs: 0,
    generateMs: 0,
  };

  /** A conversation that starts with `system` as its system prompt, when given. */
  constructor(system?: string) {
    this.#start = system ? [{ role: "system", content: system }] : [];
    this.#messages = [...this.#start];
  }

  /** The messages so far, the system prompt first. */
  get messages(): readonly ChatMessage[] {
    return this.#messages;
  }

  /** Exchanges (a message and its answer) after the system prompt. */
  get exchanges(): number {
    return this.#messages.filter((m) => m.role === "user").length;
  }

  /** How many states `/push` has saved. */
  get depth(): number {
    return this.#stack.length;
  }

  /** The messages with `user` appended: the prompt of the next answer. */
  withMessage(user: string): ChatMessage[] {
    return [...this.#messages, { role: "user", content: user }];
  }

  /** Records an exchange: the user's message and the answer (as much of it as was written). */
  add(user: string, answer: string, timings?: AnswerTimings): void {
    this.#messages.push({ role: "user", content: user }, { role: "assistant", content: answer });
    if (timings === undefined) return;
    this.#last = timings;
    const t = this.#totals;
    t.answers++;
    t.promptTokens += timings.promptTokens;
    t.cachedTokens += timings.cachedTokens;
    t.completionTokens += timings.completionTokens;
    t.promptMs += timings.promptMs;
    t.generateMs += timings.generateMs;
  }

  /** Takes back the last exchange; false when there is none. */
  undo(): boolean {
    const at = this.#messages.findLastIndex((m) => m.role === "user");
    if (at < this.#start.length || at < 0) return false;
    this.#messages.splice(at);
    return true;
  }

  /** Starts over from the system prompt (the stack stays). */
  clear(): void {
    this.#messages = [...this.#start];
  }

  /** Saves the conversation; returns the stack's depth. */
  push(): number {
    this.#stack.push(this.#messages.map((m) => ({ ...m })));
    return this.#stack.length;
  }

  /** Goes back to the last saved conversation; false when the stack is empty. */
  pop(): boolean {
    const saved = this.#stack.pop();
    if (saved === undefined) return false;
    this.#messages = saved;
    return true;
  }

  /** The timings of the last answer, or null before the first. */
  get last(): AnswerTimings | null {
    return this.#last;
  }

  /** The sums over every answer. */
  get totals(): Readonly<ChatTotals> {
    return this.#totals;
  }
}
