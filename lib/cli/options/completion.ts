/**
 * CLI options (llama.cpp's `llama-cli` params): the prompt, what is echoed, when to stop, the
 * terminal chat, the prompt cache.
 *
 * @module
 */
import type { OptionSection } from "../option_table.ts";

/** What the CLI options set. */
export interface CompletionOptions {
  prompt?: string;
  file?: string;
  /** `-bf`: the prompt is this file's bytes, a trailing newline kept. */
  binaryFile?: string;
  /** The chat's system message (`-sys`), or the file it is in (`-sysf`). */
  systemPrompt?: string;
  systemPromptFile?: string;
  escape: boolean;
  reversePrompt: string[];
  displayPrompt: boolean;
  promptCache?: string;
  /** `--prompt-cache-ro`: read the prompt cache, never write it. */
  promptCacheRo: boolean;
  cli: boolean;
  chat: boolean;
  /** `-st`: the chat answers one message, then ends. */
  singleTurn: boolean;
}

/** The CLI options. */
export const COMPLETION_SECTION: OptionSection<CompletionOptions> = {
  title: "CLI",
  defaults: {
    escape: true,
    reversePrompt: [],
    displayPrompt: true,
    promptCacheRo: false,
    cli: false,
    chat: false,
    singleTurn: false,
  },
  specs: [
    {
      names: ["--cli", "-no-cnv", "--no-conversation"],
      key: "cli",
      kind: "flag",
      help: "run one completion from the prompt (default when -p or -f is given)",
    },
    {
      names: ["--chat", "-cnv", "--conversation"],
      key: "chat",
      kind: "flag",
      help: "chat in the terminal (default when neither a prompt nor --server is given)",
    },
    {
      names: ["-sys", "--system-prompt"],
      key: "systemPrompt",
      kind: "string",
      arg: "TEXT",
      help: "the chat's system message (default: -p's text, when given with --chat)",
    },
    {
      names: ["-sysf", "--system-prompt-file"],
      key: "systemPromptFile",
      kind: "string",
      arg: "FNAME",
      help: "read the chat's system message from a file; one trailing newline is dropped",
    },
    {
      names: ["-p", "--prompt"],
      key: "prompt",
      kind: "string",
      arg: "TEXT",
      help: "prompt to start generation with",
    },
    {
      names: ["-f", "--file"],
      key: "file",
      kind: "string",
      arg: "FNAME",
      help: "read the prompt from a file (/dev/stdin works); one trailing newline is dropped",
    },
    {
      names: ["-bf", "--binary-file"],
      key: "binaryFile",
      kind: "string",
      arg: "FNAME",
      help: "read the prompt from a file as it is (a trailing newline kept)",
    },
    {
      names: ["-e", "--escape"],
      key: "escape",
      kind: "flag",
      help: "process escapes \\n \\r \\t \\' \\\" \\\\ \\xNN in prompts (default: on)",
    },
    {
      names: ["--no-escape"],
      key: "escape",
      kind: "flag",
      value: false,
      help: "do not process escapes",
    },
    {
      names: ["-r", "--reverse-prompt"],
      key: "reversePrompt",
      kind: "list",
      arg: "TEXT",
      help: "stop generating at TEXT (repeatable)",
    },
    {
      names: ["--no-display-prompt"],
      key: "displayPrompt",
      kind: "flag",
      value: false,
      help: "do not echo the prompt to stdout",
    },
    {
      names: ["--display-prompt"],
      key: "displayPrompt",
      kind: "flag",
      help: "echo the prompt before the answer (default)",
    },
    {
      names: ["--silent-prompt"],
      key: "displayPrompt",
      kind: "flag",
      value: false,
      help: "same as --no-display-prompt (llamafile)",
    },
    {
      names: ["--prompt-cache"],
      key: "promptCache",
      kind: "string",
      arg: "FNAME",
      help:
        "keep the prompt's state in FNAME and reuse its common prefix next run (the only file the CLI may write)",
    },
    {
      names: ["--prompt-cache-ro"],
      key: "promptCacheRo",
      kind: "flag",
      help: "read --prompt-cache's file but never write it",
    },
    {
      names: ["-st", "--single-turn"],
      key: "singleTurn",
      kind: "flag",
      help: "the chat answers one message, then ends",
    },
  ],
};
