/**
 * Hostile grammars, each test named after the attack: they used to kill the whole server (a C++
 * exception or a stack overflow inside libllama) with one short request. Now each is a 400 in
 * the API's error shape (or exit 1 with one line in the CLI), and the server keeps serving.
 */
import assert from "node:assert/strict";
import { createApp } from "../server.ts";
import { runCli, STORIES } from "./helpers.ts";
import { post, testEngine } from "./server_helpers.ts";

const NESTED = `root ::= ${"(".repeat(20_000)}"a"${")".repeat(20_000)}`;
const CHAIN = ['root ::= r0 "x"']
  .concat(Array.from({ length: 5000 }, (_, i) => `r${i} ::= r${i + 1} "y"`), 'r5000 ::= "z"')
  .join("\n");

const ATTACKS: [string, Record<string, unknown>, RegExp][] = [
  ['POST /completion with grammar "root ::= [z-a]"', { grammar: "root ::= [z-a]" }, /is empty/],
  [
    "POST /completion with grammar [\\U0010FFFF-\\U00000000]",
    { grammar: "root ::= [\\U0010FFFF-\\U00000000]" },
    /is empty/,
  ],
  [
    'POST /completion with json_schema pattern "^[z-a]$"',
    { json_schema: { type: "string", pattern: "^[z-a]$" } },
    /is empty/,
  ],
  ["POST /completion with a grammar nested 20,000 deep", { grammar: NESTED }, /nested more than/],
  ["POST /completion with a rule chain 5,000 long", { grammar: CHAIN }, /more than 1000 deep/],
  [
    "POST /completion with a token id outside the vocabulary",
    { grammar: "root ::= <[99999]>" },
    /outside the vocabulary/,
  ],
];

for (const [name, fields, message] of ATTACKS) {
  Deno.test(`${name} answers 400 and the server keeps serving`, async () => {
    await using t = await testEngine();
    const app = createApp({ state: t.state });
    const response = await app.request(
      "/completion",
      post({ prompt: "Once", n_predict: 4, ...fields }),
    );
    assert.equal(response.status, 400);
    const body = await response.json();
    assert.equal(body.error.type, "invalid_request_error");
    assert.match(body.error.message, message);
    const after = await app.request(
      "/completion",
      post({ prompt: "Once", n_predict: 4, temperature: 0 }),
    );
    assert.equal(after.status, 200);
    assert.ok((await after.json()).content.length > 0);
  });
}

Deno.test("POST /v1/chat/completions with response_format pattern ^[z-a]$ answers 400", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const response = await app.request(
    "/v1/chat/completions",
    post({
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 4,
      response_format: {
        type: "json_schema",
        json_schema: { name: "x", schema: { type: "string", pattern: "^[z-a]$" } },
      },
    }),
  );
  assert.equal(response.status, 400);
  assert.match((await response.json()).error.message, /is empty/);
});

Deno.test("POST /completion with ignore_eos and a grammar that completes ends at the grammar's end", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  const response = await app.request(
    "/completion",
    post({ prompt: "Once", n_predict: 8, ignore_eos: true, grammar: 'root ::= "a"' }),
  );
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.equal(body.content, "a");
});

Deno.test("POST /completion with a grammar no allowed token can continue ends instead of crashing", async () => {
  await using t = await testEngine();
  const app = createApp({ state: t.state });
  // Every token that starts with "b" is banned: after "a" the grammar allows none.
  const banned = [101, 268, 329, 370, 398, 430, 410].map((id) => [id, false]);
  const response = await app.request(
    "/completion",
    post({
      prompt: "Once",
      n_predict: 8,
      temperature: 0,
      grammar: 'root ::= "a" "b"',
      logit_bias: banned,
    }),
  );
  assert.equal(response.status, 200);
  assert.equal((await response.json()).content, "a");
});

Deno.test("CLI --grammar 'root ::= [z-a]' exits 1 with one line", async () => {
  const out = await runCli([
    "-m",
    STORIES,
    "-p",
    "Once",
    "-n",
    "4",
    "-t",
    "1",
    "--grammar",
    "root ::= [z-a]",
  ]);
  assert.equal(out.code, 1);
  assert.equal(out.stdout, "");
  assert.match(
    out.stderr,
    /^llamafile: Cannot parse grammar: the character range .* is empty .*\n$/,
  );
});
