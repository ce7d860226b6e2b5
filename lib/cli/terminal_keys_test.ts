import assert from "node:assert/strict";
import { type Key, KeyDecoder } from "./terminal_keys.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const names = (keys: Key[]) =>
  keys.map((k) => (k.text !== undefined ? `${k.name}:${k.text}` : k.name));

Deno.test("KeyDecoder reads text, control keys and escape sequences", () => {
  const d = new KeyDecoder();
  assert.deepEqual(
    names(d.feed(bytes("hé🦙\x01\x05\x0b\x0c\x12\x15\x17\x7f\r\t\x03\x04"))),
    [
      "text:hé🦙",
      "ctrl-a",
      "ctrl-e",
      "ctrl-k",
      "ctrl-l",
      "ctrl-r",
      "ctrl-u",
      "ctrl-w",
      "backspace",
      "enter",
      "tab",
      "ctrl-c",
      "ctrl-d",
    ],
  );
  assert.deepEqual(
    names(
      d.feed(
        bytes(
          "\x1b[A\x1b[B\x1b[C\x1b[D\x1b[H\x1b[F\x1b[3~\x1b[1;5C\x1b[1;5D\x1bOH\x1bb\x1bf\x1bd\x1b\x7f",
        ),
      ),
    ),
    [
      "up",
      "down",
      "right",
      "left",
      "home",
      "end",
      "delete",
      "ctrl-right",
      "ctrl-left",
      "home",
      "alt-b",
      "alt-f",
      "alt-d",
      "alt-backspace",
    ],
  );
  assert.deepEqual(names(d.feed(bytes("\x1b[99~x"))), ["unknown", "text:x"]);
});

Deno.test("KeyDecoder waits for sequences and UTF-8 split across reads", () => {
  const d = new KeyDecoder();
  const llama = bytes("🦙");
  assert.deepEqual(d.feed(llama.subarray(0, 2)), []);
  assert.deepEqual(names(d.feed(llama.subarray(2))), ["text:🦙"]);
  assert.deepEqual(d.feed(bytes("\x1b")), []);
  assert.equal(d.pending, true);
  assert.deepEqual(d.feed(bytes("[")), []);
  assert.deepEqual(names(d.feed(bytes("A"))), ["up"]);
  assert.deepEqual(d.feed(bytes("\x1b")), []);
  assert.deepEqual(names(d.flush()), ["escape"]);
  assert.equal(d.pending, false);
});

Deno.test("KeyDecoder reads a bracketed paste as one key, newlines kept", () => {
  const d = new KeyDecoder();
  assert.deepEqual(d.feed(bytes("\x1b[200~line one\r\nline")), []);
  assert.deepEqual(d.feed(bytes(" two\x1b[20")), []);
  assert.deepEqual(names(d.feed(bytes("1~!"))), ["paste:line one\nline two", "text:!"]);
});
