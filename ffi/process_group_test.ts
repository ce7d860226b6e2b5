import assert from "node:assert/strict";
import { inForegroundGroup } from "./process_group.ts";

Deno.test("inForegroundGroup() is false without a terminal, true in a pty's foreground", async () => {
  const self = new URL("./process_group.ts", import.meta.url).pathname;
  const code = `import { inForegroundGroup } from ${JSON.stringify(self)};\n` +
    "console.log(JSON.stringify(inForegroundGroup()));";
  const run = async (command: string, args: string[]) => {
    const out = await new Deno.Command(command, { args, stdin: "null", stdout: "piped" }).output();
    return new TextDecoder().decode(out.stdout).trim();
  };
  const deno = [Deno.execPath(), "eval", "--no-prompt", "--allow-ffi", code];
  assert.equal(await run(deno[0]!, deno.slice(1)), "false");
  // `script` runs the command on a new pty, in that terminal's foreground group.
  const quoted = deno.map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(" ");
  assert.match(await run("script", ["-q", "-e", "-c", quoted, "/dev/null"]), /^true\r?$/);
  assert.equal(typeof inForegroundGroup(), "boolean");
});
