/**
 * Wires `--chat` for the CLI: how the terminal is used (decided before the sandbox), template,
 * context, Ctrl-C, exit code.
 *
 * @module
 */
import { runChat, streamInput, terminalChatInput } from "./chat_repl.ts";
import { defaultTemplateKwargs, resolveChatTemplate } from "../engine/chat_template.ts";
import type { CliOptions } from "./options.ts";
import { createContext } from "../engine/context.ts";
import { contextOptionsFromCli, warnPastTrainedContext } from "./completion_mode.ts";
import type { LoraAdapters } from "../engine/lora.ts";
import type { LlamaModel } from "../engine/model.ts";
import type { SamplingOptions } from "../engine/sampler.ts";
import { writeStderr } from "../util/stdout_writer.ts";
import { stdioTerminal, TerminalInput } from "./terminal_input.ts";
import { colorWanted, textStyle } from "./text_style.ts";

/** How the chat uses the terminal. */
export interface ChatTerminal {
  /** stdin is a terminal: show the banner and prompts. */
  interactive: boolean;
  /** stdin and stdout are a terminal that can be drawn on: use the line editor. */
  editor: boolean;
  /** Colour the prompt and the notes. */
  color: boolean;
}

/** Looks at the terminal and `TERM`: call it before the sandbox revokes the environment. */
export function chatTerminal(): ChatTerminal {
  let term: string | undefined;
  try {
    term = Deno.env.get("TERM");
  } catch {
    // not allowed: take the terminal as it is
  }
  const stdin = Deno.stdin.isTerminal();
  return {
    interactive: stdin,
    editor: stdin && Deno.stdout.isTerminal() && term !== "dumb",
    color: colorWanted(term),
  };
}

/** Runs the terminal chat; `system` (from -p/-f) starts the conversation. Returns the exit code. */
export async function runChatMode(
  model: LlamaModel,
  options: CliOptions,
  sampling: SamplingOptions,
  system: string | undefined,
  terminal: ChatTerminal = chatTerminal(),
  lora: LoraAdapters | null = null,
): Promise<number> {
  // As the server: --chat-template-file wins over --chat-template.
  const spec = options.chatTemplateFile ?? options.chatTemplate;
  const template = await resolveChatTemplate(spec, model.chatTemplate, {
    warn: (line) => writeStderr(line),
    native: model.nativeChatTemplates,
  });
  const context = await createContext(model, contextOptionsFromCli(options));
  try {
    lora?.applyTo(context);
  } catch (error) {
    await context.close();
    throw error;
  }
  warnPastTrainedContext(context.size, model.trainedContext, options);
  const interrupts = new EventTarget();
  const onSigint = () => interrupts.dispatchEvent(new Event("interrupt"));
  Deno.addSignalListener("SIGINT", onSigint);
  const input = terminal.editor
    ? terminalChatInput(new TerminalInput(stdioTerminal()))
    : streamInput(Deno.stdin.readable, { showPrompt: terminal.interactive });
  // Killed politely: give the terminal back (cooked mode) before going.
  const onSigterm = () => {
    input.close();
    Deno.exit(143);
  };
  Deno.addSignalListener("SIGTERM", onSigterm);
  try {
    const end = await runChat(context, {
      template,
      sampling,
      maxTokens: options.nPredict,
      interrupts,
      input,
      interactive: terminal.interactive,
      style: textStyle(terminal.color),
      ...(system !== undefined && { system }),
      templateKwargs: defaultTemplateKwargs(options),
      singleTurn: options.singleTurn,
    });
    return end === "interrupt" ? 130 : 0;
  } finally {
    input.close();
    Deno.removeSignalListener("SIGINT", onSigint);
    Deno.removeSignalListener("SIGTERM", onSigterm);
    await context.close();
  }
}
