/**
 * `--chat`: a chat in the terminal with the model's chat template. `/exit` quits,
 * `/clear` forgets the conversation, a line `"""` starts and ends multi-line input.
 * Ctrl-C stops the answer being written; at the prompt it quits.
 *
 * @module
 */
import { type ChatMessage, chatPrompt, type ChatTemplate } from "../engine/chat_template.ts";
import type { LlamaContext } from "../engine/context.ts";
import { readLines } from "./line_reader.ts";
import type { SamplingOptions } from "../engine/sampler.ts";
import { SlotScheduler } from "../engine/slots.ts";
import { writeStderr, writeStdout } from "../util/stdout_writer.ts";

/** End-of-turn markers templates write; a model that emits one as text has ended its turn. */
const TURN_MARKERS = [
  "<|im_end|>",
  "<|im_start|>",
  "<|eot_id|>",
  "<|end|>",
  "<end_of_turn>",
  "</s>",
  "[INST]",
];

/** Options of {@linkcode runChat}. */
export interface ChatOptions {
  template: ChatTemplate;
  sampling: SamplingOptions;
  /** Tokens per answer at most; -1 = until the end of the turn or a full context. */
  maxTokens: number;
  /** A system prompt to start the conversation with. */
  system?: string;
  /** Ctrl-C: aborts the current answer; set by the caller's signal handler. */
  interrupts: EventTarget;
  /** Where lines come from (default: stdin). */
  input?: ReadableStream<Uint8Array>;
  /** Show the `> ` prompt (default: when stdin is a terminal). */
  showPrompt?: boolean;
}

/** How a chat ended. */
export type ChatEnd = "exit" | "eof" | "interrupt";

/** Runs the chat until `/exit`, end of input or Ctrl-C at the prompt. */
export async function runChat(context: LlamaContext, options: ChatOptions): Promise<ChatEnd> {
  const model = context.model;
  const scheduler = new SlotScheduler(context, { queueLimit: 1 });
  const stops = TURN_MARKERS.filter((m) => options.template.source.includes(m));
  const start: ChatMessage[] = options.system ? [{ role: "system", content: options.system }] : [];
  let messages = [...start];
  const showPrompt = options.showPrompt ?? Deno.stdin.isTerminal();
  const lines = readLines(options.input ?? Deno.stdin.readable)[Symbol.asyncIterator]();

  let idleInterrupt: (() => void) | null = null;
  let answer: AbortController | null = null;
  const onInterrupt = () => {
    if (answer) answer.abort();
    else idleInterrupt?.();
  };
  options.interrupts.addEventListener("interrupt", onInterrupt);

  const nextLine = async (): Promise<string | null | "interrupt"> => {
    const interrupted = new Promise<"interrupt">((
      resolve,
    ) => (idleInterrupt = () => resolve("interrupt")));
    const step = await Promise.race([lines.next(), interrupted]);
    idleInterrupt = null;
    if (step === "interrupt") return step;
    return step.done ? null : step.value;
  };

  try {
    if (showPrompt) {
      writeStderr(
        `llamafile: chat with ${options.template.origin} template; /exit to quit, /clear to start over, """ for multi-line`,
      );
    }
    while (true) {
      if (showPrompt) writeStdout("> ");
      let line = await nextLine();
      if (line === "interrupt") return "interrupt";
      if (line === null) return "eof";
      if (line.trim() === '"""') {
        const parts: string[] = [];
        while (true) {
          const more = await nextLine();
          if (more === "interrupt") return "interrupt";
          if (more === null || more.trim() === '"""') break;
          parts.push(more);
        }
        line = parts.join("\n");
      } else if (line.trim() === "/exit" || line.trim() === "/quit") {
        return "exit";
      } else if (line.trim() === "/clear") {
        messages = [...start];
        writeStderr("llamafile: conversation cleared");
        continue;
      }
      if (line.trim() === "") continue;
      messages.push({ role: "user", content: line });
      const prompt = chatPrompt(model, options.template, messages, { addGenerationPrompt: true });
      if (prompt.tokens.length >= scheduler.slotContext) {
        writeStderr(
          `llamafile: the conversation (${prompt.tokens.length} tokens) no longer fits the context; /clear to start over`,
        );
        messages.pop();
        continue;
      }
      answer = new AbortController();
      const stream = scheduler.submit({
        tokens: prompt.tokens,
        sampling: options.sampling,
        maxTokens: options.maxTokens,
        stop: stops,
        signal: answer.signal,
      });
      let text = "";
      for await (const event of stream) {
        if (event.text) {
          writeStdout(event.text);
          text += event.text;
        }
      }
      const result = await stream.result;
      answer = null;
      writeStdout("\n");
      if (result.finishReason === "context") {
        writeStderr("llamafile: the context is full; /clear to start over");
      }
      messages.push({ role: "assistant", content: text.trim() });
    }
  } finally {
    options.interrupts.removeEventListener("interrupt", onInterrupt);
    await scheduler.close();
    // A read may still be pending on stdin; the caller exits instead of waiting for it.
  }
}
