import assert from "node:assert/strict";

Deno.test("a process that took event loop turns exits by itself (no message port left open)", async () => {
  const module = new URL("../lib/util/event_loop_turn.ts", import.meta.url).href;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { eventLoopTurn } from ${JSON.stringify(module)};` +
      "for (let i = 0; i < 3; i++) await eventLoopTurn(); console.log('turned');",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // An open port would keep it alive: give it far longer than it needs, then call it a hang.
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const out = await child.output();
  clearTimeout(timer);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stdout), "turned\n");
});
