// Lazy grammars (llama_sampler_init_grammar_lazy_patterns) and the reasoning budget on a real
// model: greedy stories260K writes STORIES_GREEDY freely; a lazy grammar leaves it alone until
// its trigger and then holds it to the grammar, and a spent budget forces its end sequence.
import assert from "node:assert/strict";
import { createContext } from "../lib/engine/context.ts";
import { loadModel } from "../lib/engine/model.ts";
import { type SlotRequest, SlotScheduler } from "../lib/engine/slots.ts";
import { STORIES, STORIES_GREEDY } from "./helpers.ts";

async function generate(
  request: Omit<SlotRequest, "tokens" | "maxTokens"> & { prompt?: string; maxTokens?: number },
): Promise<string> {
  using model = await loadModel(STORIES);
  await using context = await createContext(model, { threads: 1, contextSize: 512, sequences: 1 });
  const scheduler = new SlotScheduler(context);
  try {
    const tokens = model.tokenize(request.prompt ?? "Once upon a time");
    let text = "";
    for await (const event of scheduler.submit({ maxTokens: 40, ...request, tokens })) {
      text += event.text;
    }
    return text;
  } finally {
    await scheduler.close();
  }
}

const HAPPY = 'root ::= "Lily" " was happy."';

Deno.test("a lazy grammar constrains the output from its trigger pattern's first group on", async () => {
  const text = await generate({
    sampling: {
      temperature: 0,
      grammar: HAPPY,
      grammarLazy: true,
      grammarTriggerPatterns: ["[\\s\\S]*?(Lily)[\\s\\S]*"],
    },
  });
  assert.equal(text, ", there was a little girl named Lily was happy.");
});

Deno.test("a lazy grammar whose trigger never comes leaves the output alone", async () => {
  const text = await generate({
    sampling: {
      temperature: 0,
      grammar: HAPPY,
      grammarLazy: true,
      grammarTriggerPatterns: ["[\\s\\S]*?(<tool_call>)[\\s\\S]*"],
    },
  });
  assert.equal(text, STORIES_GREEDY);
});

Deno.test("a lazy grammar starts at its trigger token, with that token's text", async () => {
  using model = await loadModel(STORIES);
  // SentencePiece: "Lily" is the one token " Lily"
  const lily = model.tokenize("Lily", { addSpecial: false });
  assert.equal(lily.length, 1, "one token for ' Lily'");
  const text = await generate({
    sampling: {
      temperature: 0,
      grammar: 'root ::= " Lily" " was happy."',
      grammarLazy: true,
      grammarTriggerTokens: [lily[0]!],
    },
  });
  assert.equal(text, ", there was a little girl named Lily was happy.");
});

Deno.test("a spent reasoning budget forces its end sequence, then sampling goes on", async () => {
  using model = await loadModel(STORIES);
  const prompt = model.tokenize("Once upon a time");
  const start = [prompt.at(-1)!];
  const end = [...model.tokenize("The end.", { addSpecial: false })]; // " The end."
  const free = await generate({ sampling: { temperature: 0 }, maxTokens: 3 });
  const budget = (n: number) =>
    generate({
      sampling: { temperature: 0 },
      generationPrompt: start,
      reasoningBudget: { starts: [start], ends: [end], forced: end, budget: n },
    });
  const three = await budget(3);
  assert.ok(three.startsWith(free + " The end."), three);
  const none = await budget(0);
  assert.ok(none.startsWith(" The end."), none);
  const plenty = await budget(100);
  assert.equal(plenty, STORIES_GREEDY);
});
