import assert from "node:assert/strict";
import { type EditResult, LineEditor, NEWLINE_MARK, renderLine, textWidth } from "./line_editor.ts";
import type { Key } from "./terminal_keys.ts";

const k = (name: string, text?: string): Key => (text === undefined ? { name } : { name, text });
const type = (e: LineEditor, text: string) => e.handle(k("text", text));
const press = (e: LineEditor, ...names: string[]): EditResult[] => names.map((n) => e.handle(k(n)));

Deno.test("LineEditor moves and edits by character and word", () => {
  const e = new LineEditor();
  type(e, "hello world");
  press(e, "ctrl-a");
  assert.equal(e.cursor, 0);
  press(e, "ctrl-f", "right");
  assert.equal(e.cursor, 2);
  press(e, "end", "alt-b");
  assert.equal(e.cursor, 6);
  press(e, "ctrl-left", "alt-f");
  assert.equal(e.cursor, 5);
  type(e, ",");
  assert.equal(e.text, "hello, world");
  press(e, "ctrl-e", "backspace", "home", "delete");
  assert.equal(e.text, "ello, worl");
  assert.deepEqual(press(e, "ctrl-t"), ["ignored"]);
  press(e, "right", "ctrl-t");
  assert.equal(e.text, "lelo, worl");
  assert.deepEqual(press(e, "ctrl-a", "backspace", "left"), ["edited", "ignored", "ignored"]);
});

Deno.test("LineEditor kills and yanks with Ctrl-K, Ctrl-U, Ctrl-W and Ctrl-Y", () => {
  const e = new LineEditor();
  type(e, "one two three");
  press(e, "ctrl-w");
  assert.equal(e.text, "one two ");
  press(e, "ctrl-a", "ctrl-k");
  assert.equal(e.text, "");
  press(e, "ctrl-y");
  assert.equal(e.text, "one two ");
  press(e, "alt-b", "ctrl-u");
  assert.equal(e.text, "two ");
  press(e, "ctrl-e", "ctrl-y");
  assert.equal(e.text, "two one ");
});

Deno.test("LineEditor reports Enter, Ctrl-C, Ctrl-D and Ctrl-L", () => {
  const e = new LineEditor();
  assert.deepEqual(press(e, "ctrl-d"), ["eof"]);
  type(e, "ab");
  press(e, "home");
  assert.deepEqual(press(e, "ctrl-d"), ["edited"]);
  assert.equal(e.text, "b");
  assert.deepEqual(press(e, "ctrl-c", "ctrl-l", "enter"), ["interrupt", "clear-screen", "submit"]);
  assert.equal(e.text, "b");
});

Deno.test("LineEditor browses the history and keeps the draft", () => {
  const history = ["first", "second"];
  const e = new LineEditor({ history });
  type(e, "dra");
  press(e, "up");
  assert.equal(e.text, "second");
  press(e, "ctrl-p");
  assert.equal(e.text, "first");
  assert.deepEqual(press(e, "up"), ["ignored"]);
  press(e, "down", "ctrl-n");
  assert.equal(e.text, "dra");
  type(e, "ft");
  press(e, "enter");
  assert.deepEqual(history, ["first", "second", "draft"]);
  const again = new LineEditor({ history });
  type(again, "draft");
  press(again, "enter");
  assert.deepEqual(history, ["first", "second", "draft"], "a repeated line is kept once");
});

Deno.test("LineEditor searches the history backwards with Ctrl-R", () => {
  const history = ["tell me a story", "hello", "tell me a joke", "bye"];
  const e = new LineEditor({ history });
  press(e, "ctrl-r");
  type(e, "tell");
  assert.deepEqual(e.search, { query: "tell", found: true });
  assert.equal(e.text, "tell me a joke");
  press(e, "ctrl-r");
  assert.equal(e.text, "tell me a story");
  assert.deepEqual(press(e, "ctrl-r"), ["ignored"]);
  press(e, "end");
  assert.equal(e.search, null);
  type(e, "!");
  assert.equal(e.text, "tell me a story!");

  const f = new LineEditor({ history });
  type(f, "draft");
  press(f, "ctrl-r");
  type(f, "zzz");
  assert.deepEqual(f.search, { query: "zzz", found: false });
  press(f, "ctrl-g");
  assert.equal(f.text, "draft");
  press(f, "ctrl-r");
  type(f, "hel");
  assert.deepEqual(press(f, "enter"), ["submit"]);
  assert.equal(f.text, "hello");
});

Deno.test("LineEditor completes with Tab and inserts pasted newlines", () => {
  const e = new LineEditor({
    complete: (before) => ["/push", "/pop", "/help"].filter((c) => c.startsWith(before)),
  });
  type(e, "/p");
  assert.deepEqual(press(e, "tab"), ["ignored"], "/push and /pop share only /p");
  type(e, "u");
  press(e, "tab");
  assert.equal(e.text, "/push");
  const p = new LineEditor({ initial: "x" });
  p.handle(k("paste", "a\r\nb\tc"));
  assert.equal(p.text, "xa\nb  c");
});

Deno.test("renderLine() scrolls long lines so the cursor shows", () => {
  assert.deepEqual(renderLine("> ", "hello", 5, 80), { text: "> hello", column: 7 });
  assert.deepEqual(renderLine("> ", "a\nb", 1, 80), { text: `> a${NEWLINE_MARK}b`, column: 3 });
  const long = "abcdefghijklmnopqrstuvwxyz".repeat(4);
  const end = renderLine("> ", long, long.length, 20);
  assert.ok(end.text.startsWith("> <"), end.text);
  assert.ok(textWidth(end.text) <= 19, end.text);
  assert.ok(end.column <= 19);
  assert.ok(long.endsWith(end.text.slice(3)));
  const start = renderLine("> ", long, 0, 20);
  assert.ok(start.text.endsWith(">"), start.text);
  assert.equal(start.column, 2);
  assert.ok(textWidth(start.text) <= 19);
  assert.equal(textWidth("\x1b[1m> \x1b[0m日本"), 6);
});
