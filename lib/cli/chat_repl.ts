/**
 * `--chat`: a chat in the terminal with the model's chat template. On a terminal the line
 * editor reads the input (`terminal_input.ts`: history, Ctrl-R, Tab); from a pipe, lines are
 * read as they come. Lines starting with `/` are commands (`chat_commands.ts`), a line `"""`
 * starts and ends a message of several lines. Ctrl-C stops the answer being written and the
 * chat goes on; at an empty prompt, a second Ctrl-C in a row quits (from a pipe, the first).
 *
 * @module
 */
import { type ChatMessage, chatPrompt, type ChatTemplate } from "../engine/chat_template.ts";
import type { LlamaContext } from "../engine/context.ts";
import type { SamplingOptions } from "../engine/sampler.ts";
import { SlotScheduler } from "../engine/slots.ts";
import { writeStderr, writeStdout } from "../util/stdout_writer.ts";
import { chatHelp, completeChatCommand, parseChatLine } from "./chat_commands.ts";
import { ChatSession } from "./chat_session.ts";
import { timingsLine } from "./completion_mode.ts";
import { readLines } from "./line_reader.ts";
import type { LineRead, TerminalInput } from "./terminal_input.ts";
import { type TextStyle, textStyle } from "./text_style.ts";

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

/** Where the chat's lines come from. */
export interface ChatInput {
  /** Reads one line after `prompt` (shown only where the input shows prompts). */
  readLine(prompt: string): Promise<LineRead>;
  /** Set while an answer is written: Ctrl-C read from the terminal calls it. */
  onInterrupt: (() => void) | null;
  /** True when Ctrl-C arrives as a key at the prompt (a terminal in raw mode). */
  readonly keyInterrupts: boolean;
  /** Gives the terminal back. Idempotent. */
  close(): void;
}

/** Lines from a byte stream (a pipe, a file, or a terminal in cooked mode). */
export function streamInput(
  stream: ReadableStream<Uint8Array>,
  options: { showPrompt: boolean },
): ChatInput {
  const lines = readLines(stream)[Symbol.asyncIterator]();
  return {
    async readLine(prompt) {
      if (options.showPrompt) writeStdout(prompt);
      const step = await lines.next();
      return step.done ? { kind: "eof" } : { kind: "line", text: step.value };
    },
    onInterrupt: null,
    keyInterrupts: false,
    close() {
      // A read may still be pending on stdin; the caller exits instead of waiting for it.
    },
  };
}

/** A terminal in raw mode, as a {@linkcode ChatInput}. */
export function terminalChatInput(terminal: TerminalInput): ChatInput {
  const input: ChatInput = {
    readLine: (prompt) => terminal.readLine(prompt, { complete: completeChatCommand }),
    onInterrupt: null,
    keyInterrupts: true,
    close: () => terminal.close(),
  };
  terminal.onInterrupt = () => input.onInterrupt?.();
  terminal.start();
  return input;
}

/** Options of {@linkcode runChat}. */
export interface ChatOptions {
  template: ChatTemplate;
  sampling: SamplingOptions;
  /** Tokens per answer at most; -1 = until the end of the turn or a full context. */
  maxTokens: number;
  /** A system prompt to start the conversation with. */
  system?: string;
  /** Template variables (`--chat-template-kwargs`, `--reasoning-effort`, ...). */
  templateKwargs?: Record<string, unknown>;
  /** End after the first answer (`-st`). */
  singleTurn?: boolean;
  /** SIGINT: stops the current answer, or at the prompt ends the chat. */
  interrupts: EventTarget;
  /** Where lines come from (default: stdin, without prompts unless it is a terminal). */
  input?: ChatInput;
  /** Colours on stdout and stderr (default none). */
  style?: TextStyle;
  /** Show the banner and the prompts (default: when stdin is a terminal). */
  interactive?: boolean;
}

/** How a chat ended. */
export type ChatEnd = "exit" | "eof" | "interrupt";

/** Runs the chat until `/exit`, end of input or Ctrl-C at the prompt. */
export async function runChat(context: LlamaContext, options: ChatOptions): Promise<ChatEnd> {
  const model = context.model;
  const style = options.style ?? textStyle(false);
  const interactive = options.interactive ?? Deno.stdin.isTerminal();
  const input = options.input ?? streamInput(Deno.stdin.readable, { showPrompt: interactive });
  const scheduler = new SlotScheduler(context, { queueLimit: 1 });
  const stops = TURN_MARKERS.filter((m) => options.template.source.includes(m));
  const session = new ChatSession(options.system);
  let statsAfterEach = false;

  const note = (line: string) => writeStderr(style.dim(line));
  const warn = (line: string) => writeStderr(style.red(line));
  const linePrompt = style.bold(style.green("> "));
  const more = style.dim("... ");

  // SIGINT (from a pipe's terminal, or `kill -INT`): stops an answer, or ends a pending read.
  let answer: AbortController | null = null;
  let signalAtPrompt: (() => void) | null = null;
  const onSignal = () => {
    if (answer) answer.abort();
    else signalAtPrompt?.();
  };
  options.interrupts.addEventListener("interrupt", onSignal);
  const read = async (text: string): Promise<LineRead> => {
    const signalled = new Promise<LineRead>((resolve) => {
      signalAtPrompt = () => resolve({ kind: "interrupt", text: "" });
    });
    try {
      return await Promise.race([input.readLine(text), signalled]);
    } finally {
      signalAtPrompt = null;
    }
  };

  const promptOf = (messages: readonly ChatMessage[], generation: boolean) =>
    chatPrompt(model, options.template, messages, {
      addGenerationPrompt: generation,
      ...(options.templateKwargs !== undefined && { extra: options.templateKwargs }),
    });

  /** Runs one command; returns how the chat ends, or null to go on. */
  const command = (name: string, arg: string): ChatEnd | null => {
    switch (name) {
      case "/exit":
        return "exit";
      case "/help":
        writeStdout(chatHelp());
        break;
      case "/clear":
        session.clear();
        note("llamafile: conversation cleared");
        break;
      case "/undo":
        note(
          session.undo()
            ? "llamafile: took back the last message and its answer"
            : "llamafile: nothing to undo",
        );
        break;
      case "/push":
        note(`llamafile: conversation saved (stack depth ${session.push()})`);
        break;
      case "/pop":
        note(
          session.pop()
            ? `llamafile: back to the saved conversation (stack depth ${session.depth}, ${session.exchanges} messages)`
            : "llamafile: nothing to pop: /push saves the conversation first",
        );
        break;
      case "/stats":
        if (arg === "on" || arg === "off") {
          statsAfterEach = arg === "on";
          note(`llamafile: timings after every answer ${arg}`);
        } else if (arg !== "") {
          warn(`llamafile: /stats takes on, off or nothing, not "${arg}"`);
        } else {
          writeStdout(statsText(session));
        }
        break;
      case "/context": {
        const used = promptOf(session.messages, false).tokens.length;
        const size = scheduler.slotContext;
        const trained = model.trainedContext;
        writeStdout(
          `context: the conversation takes ${used} of ${size} tokens (${
            (100 * used / size).toFixed(1)
          }%); the model was trained on ${trained}\n`,
        );
        break;
      }
      case "/dump": {
        const text = promptOf(session.messages, false).text;
        writeStdout(text.endsWith("\n") || text === "" ? text : `${text}\n`);
        break;
      }
    }
    return null;
  };

  try {
    if (interactive) {
      const origin = options.template.origin;
      note(
        `llamafile: chat with ${origin === "model" ? "the model's" : `the ${origin}`} template; ` +
          `/help lists the commands, Ctrl-C stops an answer, ` +
          `${input.keyInterrupts ? "Ctrl-D" : "/exit"} quits`,
      );
    }
    let lastInterrupted = false;
    while (true) {
      const got = await read(linePrompt);
      if (got.kind === "eof") return "eof";
      if (got.kind === "interrupt") {
        if (!input.keyInterrupts || (got.text === "" && lastInterrupted)) return "interrupt";
        lastInterrupted = got.text === "";
        if (lastInterrupted) note("llamafile: (Ctrl-C again, Ctrl-D or /exit to quit)");
        continue;
      }
      lastInterrupted = false;
      let line = got.text;
      if (line.trim() === '"""') {
        const parts: string[] = [];
        while (true) {
          const next = await read(more);
          if (next.kind === "interrupt") {
            if (!input.keyInterrupts) return "interrupt";
            parts.length = 0;
            break;
          }
          if (next.kind === "eof" || next.text.trim() === '"""') break;
          parts.push(next.text);
        }
        line = parts.join("\n");
      } else {
        const parsed = parseChatLine(line);
        if (parsed.kind === "unknown") {
          warn(`llamafile: unknown command ${parsed.name}; /help lists the commands`);
          continue;
        }
        if (parsed.kind === "command") {
          const end = command(parsed.name, parsed.arg);
          if (end !== null) return end;
          continue;
        }
        line = parsed.text;
      }
      if (line.trim() === "") continue;
      const prompt = promptOf(session.withMessage(line), true);
      if (prompt.tokens.length >= scheduler.slotContext) {
        warn(
          `llamafile: the conversation (${prompt.tokens.length} tokens) no longer fits the context of ${scheduler.slotContext}; /undo or /clear`,
        );
        continue;
      }
      answer = new AbortController();
      const stop = answer;
      input.onInterrupt = () => stop.abort();
      let text = "";
      let result;
      try {
        const stream = scheduler.submit({
          tokens: prompt.tokens,
          sampling: options.sampling,
          maxTokens: options.maxTokens,
          stop: stops,
          signal: stop.signal,
        });
        for await (const event of stream) {
          if (event.text) {
            writeStdout(event.text);
            text += event.text;
          }
        }
        result = await stream.result;
      } finally {
        input.onInterrupt = null;
        answer = null;
      }
      writeStdout("\n");
      if (result.finishReason === "abort") note("llamafile: (stopped)");
      if (result.finishReason === "context") {
        warn("llamafile: the context is full; /undo or /clear to go on");
      }
      session.add(line, text.trim(), result);
      if (statsAfterEach) note(timingsLine(result));
      if (options.singleTurn) return "exit";
    }
  } finally {
    options.interrupts.removeEventListener("interrupt", onSignal);
    input.close();
    await scheduler.close();
  }
}

/** The `/stats` text: the last answer, and the sums over the chat. */
export function statsText(session: ChatSession): string {
  const last = session.last;
  if (last === null) return "stats: no answer yet\n";
  const t = session.totals;
  const rate = (
    n: number,
    ms: number,
  ) => (ms > 0 ? `${(n / (ms / 1000)).toFixed(1)} tok/s` : "n/a");
  return [
    `last answer: ${timingsLine(last).replace(/^llamafile: /, "")}`,
    `this chat: ${t.answers} answer${
      t.answers === 1 ? "" : "s"
    }, prompts ${t.promptTokens} tokens ` +
    `(${t.cachedTokens} reused) in ${t.promptMs.toFixed(1)} ms, generated ${t.completionTokens} ` +
    `tokens in ${t.generateMs.toFixed(1)} ms (${rate(t.completionTokens, t.generateMs)})`,
  ].join("\n") + "\n";
}
