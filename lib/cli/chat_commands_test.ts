import assert from "node:assert/strict";
import { CHAT_COMMANDS, chatHelp, completeChatCommand, parseChatLine } from "./chat_commands.ts";

Deno.test("parseChatLine() tells messages, commands and unknown commands apart", () => {
  assert.deepEqual(parseChatLine("hello"), { kind: "message", text: "hello" });
  assert.deepEqual(parseChatLine("/help"), { kind: "command", name: "/help", arg: "" });
  assert.deepEqual(parseChatLine("  /stats  on "), { kind: "command", name: "/stats", arg: "on" });
  assert.deepEqual(parseChatLine("/QUIT"), { kind: "command", name: "/exit", arg: "" });
  assert.deepEqual(parseChatLine("/bogus x"), { kind: "unknown", name: "/bogus" });
  assert.deepEqual(parseChatLine("//etc/hosts is a file"), {
    kind: "message",
    text: "/etc/hosts is a file",
  });
  assert.deepEqual(parseChatLine("/"), { kind: "message", text: "/" });
  assert.deepEqual(parseChatLine("a /help"), { kind: "message", text: "a /help" });
});

Deno.test("completeChatCommand() completes command names at the start of a line", () => {
  assert.deepEqual(completeChatCommand("/p"), ["/push", "/pop"]);
  assert.deepEqual(completeChatCommand("/he"), ["/help"]);
  assert.deepEqual(completeChatCommand("/"), CHAT_COMMANDS.map((c) => c.name));
  assert.deepEqual(completeChatCommand("hi /p"), []);
  assert.deepEqual(completeChatCommand(""), []);
});

Deno.test("chatHelp() lists every command and the keys", () => {
  const help = chatHelp();
  for (const command of CHAT_COMMANDS) assert.ok(help.includes(`  ${command.name}`), command.name);
  assert.match(help, /Ctrl-C stops an answer/);
  assert.match(help, /Ctrl-R searches it/);
});
