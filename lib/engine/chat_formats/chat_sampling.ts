/**
 * What a chat format asks of sampling, in token ids (upstream server-schema.cpp and
 * common/sampling.cpp): the grammar and its lazy triggers (a trigger word that is one control
 * token becomes a token trigger, other words escaped regexes), the control tokens whose text the
 * output keeps, the generation prompt's tokens the grammar starts from, and the thinking budget.
 *
 * @module
 */
import type { ReasoningBudgetOptions } from "../reasoning_budget.ts";
import type { ChatParams } from "./chat_params.ts";

/** What the formats need of a vocabulary. */
export interface SamplingVocab {
  tokenize(
    text: string,
    options: { addSpecial: boolean; parseSpecial: boolean },
  ): ArrayLike<number>;
  tokenBytes(token: number, special?: boolean): Uint8Array;
}

/** The sampling of one chat request. */
export interface ChatSampling {
  /** The format's grammar ("" for none). */
  grammar: string;
  grammarLazy: boolean;
  grammarTriggerPatterns: string[];
  grammarTriggerTokens: number[];
  preservedTokens: Set<number>;
  /** The generation prompt's tokens. */
  generationPrompt: number[];
  reasoningBudget?: ReasoningBudgetOptions;
  /** Stop strings the format adds. */
  stops: string[];
}

const SPECIALS = /[.^$|()*+?[\]{}\\]/g;

/** `text` as a regex matching it literally (upstream regex_escape). */
export function regexEscape(text: string): string {
  return text.replace(SPECIALS, "\\$&");
}

function tokens(vocab: SamplingVocab, text: string): number[] {
  return Array.from(vocab.tokenize(text, { addSpecial: false, parseSpecial: true }));
}

/**
 * The sampling of `params` with `vocab`: `budget` is the thinking budget in tokens (-1: none),
 * `budgetMessage` the text forced before the end tag when it runs out. Throws `RangeError`
 * when a one-token trigger word is not among the preserved tokens (a format's mistake).
 */
export function chatSampling(
  vocab: SamplingVocab,
  params: ChatParams,
  budget = -1,
  budgetMessage = "",
): ChatSampling {
  const preserved = new Set<number>();
  for (const text of params.preservedTokens) {
    const ids = tokens(vocab, text);
    if (ids.length === 1) preserved.add(ids[0]!);
  }
  const patterns: string[] = [];
  const triggerTokens: number[] = [];
  for (const trigger of params.grammarTriggers) {
    switch (trigger.type) {
      case "word": {
        const ids = tokens(vocab, trigger.value);
        if (ids.length === 1) {
          if (!preserved.has(ids[0]!)) {
            throw new RangeError(
              `The grammar trigger word "${trigger.value}" is one token but not a preserved token`,
            );
          }
          triggerTokens.push(ids[0]!);
        } else {
          patterns.push(regexEscape(trigger.value));
        }
        break;
      }
      case "pattern":
        patterns.push(trigger.value);
        break;
      case "pattern_full": {
        const p = trigger.value;
        patterns.push(
          p === "" ? "^$" : `${p.startsWith("^") ? "" : "^"}${p}${p.endsWith("$") ? "" : "$"}`,
        );
        break;
      }
      case "token":
        triggerTokens.push(...tokens(vocab, trigger.value).slice(0, 1));
        break;
    }
  }
  if (params.grammarLazy && patterns.length === 0 && triggerTokens.length === 0) {
    throw new RangeError("A lazy grammar needs a trigger");
  }
  // some tokenizers put a space before a first special token: not part of the prompt's end
  const generationPrompt = tokens(vocab, params.generationPrompt);
  if (generationPrompt.length > 0) {
    const first = new TextDecoder().decode(vocab.tokenBytes(generationPrompt[0]!, true));
    if (/^\s/.test(first) && !/^\s/.test(params.generationPrompt)) generationPrompt.shift();
  }
  const out: ChatSampling = {
    grammar: params.grammar,
    grammarLazy: params.grammarLazy,
    grammarTriggerPatterns: patterns,
    grammarTriggerTokens: triggerTokens,
    preservedTokens: preserved,
    generationPrompt,
    stops: [...params.additionalStops],
  };
  const start = params.thinkingStartTag;
  const ends = params.thinkingEndTags.filter((tag) => tag !== "");
  if (start !== "" && ends.length > 0 && (params.grammarLazy || budget >= 0)) {
    const endTokens = ends.map((tag) => tokens(vocab, tag));
    out.reasoningBudget = {
      starts: [tokens(vocab, start)],
      ends: endTokens,
      forced: [...(budgetMessage === "" ? [] : tokens(vocab, budgetMessage)), ...endTokens[0]!],
      budget,
    };
    // The generation prompt opens the thinking (`...<think>\n`): counting starts with the first
    // generated token. llama.cpp finds the start tag among the prompt's tokens instead, which
    // a vocabulary without the tag as a token of its own tokenizes otherwise in context.
    const gp = params.generationPrompt;
    const opened = gp.lastIndexOf(start);
    if (opened >= 0 && !ends.some((end) => gp.indexOf(end, opened) >= 0)) {
      out.reasoningBudget.initial = "counting";
    }
  }
  return out;
}
