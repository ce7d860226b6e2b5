/**
 * What applying a chat format gives (upstream `common_chat_params`): the prompt, the generation
 * prompt the output continues, the grammar that constrains tool calls (lazy: only once a trigger
 * appears), the tokens to render as text, stop strings, the thinking tags, and the parser that
 * reads the output back.
 *
 * @module
 */
import type { PegArena } from "./peg_parser.ts";

/** What wakes a lazy grammar (upstream common_grammar_trigger_type, same order). */
export type TriggerType = "token" | "word" | "pattern" | "pattern_full";

/** The upstream numbers of the trigger types (for `/props` and debugging output). */
export const TRIGGER_TYPE_NUMBER: Record<TriggerType, number> = {
  token: 0,
  word: 1,
  pattern: 2,
  pattern_full: 3,
};

/** One trigger of a lazy grammar. */
export interface GrammarTrigger {
  type: TriggerType;
  value: string;
}

/** A chat format applied to one request. */
export interface ChatParams {
  /** The family that handled it (for logs and `/props`). */
  format: string;
  prompt: string;
  /** What the template appended for the assistant's turn; the parser reads it before the output. */
  generationPrompt: string;
  /** GBNF for tool calls or `response_format`; "" for none. */
  grammar: string;
  grammarLazy: boolean;
  grammarTriggers: GrammarTrigger[];
  /** Control tokens generated text keeps as text (the format's markers). */
  preservedTokens: string[];
  additionalStops: string[];
  supportsThinking: boolean;
  thinkingStartTag: string;
  thinkingEndTags: string[];
  /** The output parser; null reads everything as content. */
  parser: PegArena | null;
}

/** Params with nothing but a prompt. */
export function contentOnlyParams(
  prompt: string,
  generationPrompt: string,
  format = "content-only",
): ChatParams {
  return {
    format,
    prompt,
    generationPrompt,
    grammar: "",
    grammarLazy: false,
    grammarTriggers: [],
    preservedTokens: [],
    additionalStops: [],
    supportsThinking: false,
    thinkingStartTag: "",
    thinkingEndTags: [],
    parser: null,
  };
}
