/**
 * Wires `--chat` for the CLI: template, context, Ctrl-C, exit code.
 *
 * @module
 */
import { runChat } from "./chat_repl.ts";
import { resolveChatTemplate } from "../engine/chat_template.ts";
import type { CliOptions } from "./options.ts";
import { createContext } from "../engine/context.ts";
import { contextOptionsFromCli } from "./completion_mode.ts";
import type { LlamaModel } from "../engine/model.ts";
import type { SamplingOptions } from "../engine/sampler.ts";
import { writeStderr } from "../util/stdout_writer.ts";

/** Runs the terminal chat; `system` (from -p/-f) starts the conversation. Returns the exit code. */
export async function runChatMode(
  model: LlamaModel,
  options: CliOptions,
  sampling: SamplingOptions,
  system: string | undefined,
): Promise<number> {
  const template = await resolveChatTemplate(options.chatTemplate, model.chatTemplate, {
    warn: (line) => writeStderr(line),
  });
  const context = await createContext(model, contextOptionsFromCli(options));
  const interrupts = new EventTarget();
  const onSigint = () => interrupts.dispatchEvent(new Event("interrupt"));
  Deno.addSignalListener("SIGINT", onSigint);
  try {
    const end = await runChat(context, {
      template,
      sampling,
      maxTokens: options.nPredict,
      interrupts,
      ...(system !== undefined && { system }),
    });
    return end === "interrupt" ? 130 : 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
    await context.close();
  }
}
