/**
 * The terminal chat's slash commands (llamafile's, where they make sense here): the table
 * `/help` prints, how a line is read (a message, a command, or an unknown command), and Tab
 * completion of command names.
 *
 * @module
 */

/** One slash command. */
export interface ChatCommand {
  name: string;
  /** Its argument, as `/help` shows it. */
  args?: string;
  help: string;
}

/** The commands, in `/help` order. */
export const CHAT_COMMANDS: readonly ChatCommand[] = [
  { name: "/help", help: "show the commands and keys" },
  { name: "/clear", help: "start the conversation over (the system prompt stays)" },
  { name: "/undo", help: "take back your last message and its answer" },
  { name: "/push", help: "save the conversation on a stack" },
  { name: "/pop", help: "go back to the conversation last saved with /push" },
  {
    name: "/stats",
    args: "[on|off]",
    help: "timings of the last answer and of the chat; on: after every answer",
  },
  { name: "/context", help: "how much of the context the conversation takes" },
  { name: "/dump", help: "print the conversation as the model reads it" },
  { name: "/exit", help: "quit (also Ctrl-D on an empty line)" },
];

/** Other spellings of a command. */
const ALIASES: Readonly<Record<string, string>> = { "/quit": "/exit", "/bye": "/exit" };

/** What a line of input is. */
export type ChatLine =
  | { kind: "message"; text: string }
  | { kind: "command"; name: string; arg: string }
  | { kind: "unknown"; name: string };

/**
 * Reads a line: `/name [arg]` is a command (unknown names are reported, never sent to the
 * model); `//text` sends `/text`; anything else is a message.
 */
export function parseChatLine(line: string): ChatLine {
  const trimmed = line.trim();
  if (trimmed.startsWith("//")) return { kind: "message", text: line.replace(/^\s*\//, "") };
  if (!trimmed.startsWith("/") || trimmed === "/") return { kind: "message", text: line };
  const space = trimmed.search(/\s/);
  const word = (space < 0 ? trimmed : trimmed.slice(0, space)).toLowerCase();
  const arg = space < 0 ? "" : trimmed.slice(space).trim();
  const name = ALIASES[word] ?? word;
  if (CHAT_COMMANDS.some((c) => c.name === name)) return { kind: "command", name, arg };
  return { kind: "unknown", name: word };
}

/** Tab completion: the command names that start with `before` (a line's start). */
export function completeChatCommand(before: string): string[] {
  if (!/^\/[a-z]*$/i.test(before)) return [];
  return CHAT_COMMANDS.map((c) => c.name).filter((name) => name.startsWith(before.toLowerCase()));
}

/** The `/help` text. */
export function chatHelp(): string {
  const left = (c: ChatCommand) => `${c.name}${c.args ? ` ${c.args}` : ""}`;
  const width = Math.max(...CHAT_COMMANDS.map((c) => left(c).length)) + 2;
  return [
    "Commands:",
    ...CHAT_COMMANDS.map((c) => `  ${left(c).padEnd(width)}${c.help}`),
    `  ${"//text".padEnd(width)}send a message that starts with /`,
    `  ${'"""'.padEnd(width)}start or end a message of several lines`,
    "Keys: Ctrl-C stops an answer (the chat goes on), Ctrl-D on an empty line quits;",
    "  arrows, Home/End, Ctrl-A/E/B/F, Alt-B/F move; Ctrl-K/U/W cut, Ctrl-Y pastes back;",
    "  Up/Down walk the history, Ctrl-R searches it, Ctrl-L clears the screen, Tab completes.",
  ].join("\n") + "\n";
}
