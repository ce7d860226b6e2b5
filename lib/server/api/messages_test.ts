import assert from "node:assert/strict";
import * as z from "zod/mini";
import { ApiError } from "./errors.ts";
import { MEDIA_MARKER } from "./media.ts";
import { MESSAGES, TOOL_CHOICE, toolRequest, TOOLS } from "./messages.ts";
import { type Body, optional, parseRequest } from "./validate.ts";

/** `messages` of a raw body through the declared schema, as an endpoint parses it. */
function parseMessages(body: Body) {
  return parseRequest(z.object({ messages: MESSAGES }), body).messages;
}

/** `tools` and `tool_choice` of a raw body through the declared schemas. */
function parseTools(body: Body) {
  const parsed = parseRequest(
    z.object({ tools: optional(TOOLS), tool_choice: optional(TOOL_CHOICE) }),
    body,
  );
  return toolRequest(parsed.tools, parsed.tool_choice);
}

function fails(fn: () => unknown, message: RegExp, param = "messages"): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 400);
    assert.equal(error.param, param);
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("parseMessages() validates roles and content", () => {
  assert.deepEqual(
    parseMessages({
      messages: [{ role: "developer", content: "d" }, { role: "user", content: "u" }],
    }),
    [
      { role: "system", content: "d" },
      { role: "user", content: "u" },
    ],
  );
  fails(() => parseMessages({}), /^messages is required$/);
  fails(() => parseMessages({ messages: {} }), /^messages must be an array, got an object$/);
  fails(() => parseMessages({ messages: [] }), /must not be empty/);
  fails(
    () => parseMessages({ messages: ["hi"] }),
    /^messages\[0\] must be an object, got a string$/,
  );
  fails(
    () => parseMessages({ messages: [{ role: "bot", content: "x" }] }),
    /^messages\[0\]\.role must be one of system, developer/,
  );
  fails(
    () => parseMessages({ messages: [{ role: "user" }] }),
    /content is required for role "user"/,
  );
  fails(
    () => parseMessages({ messages: [{ role: "assistant" }] }),
    /must have content or tool_calls/,
  );
  fails(
    () => parseMessages({ messages: [{ role: "user", content: 5 }] }),
    /content must be a string or an array/,
  );
});

Deno.test("parseMessages() joins text parts with newlines and none around an image's media marker", () => {
  const [message] = parseMessages({
    messages: [{
      role: "user",
      content: [{ type: "text", text: "a" }, { type: "text", text: "b" }],
    }],
  });
  assert.equal(message!.content, "a\nb");
  assert.equal(message!.images, undefined);
  const [withImages] = parseMessages({
    messages: [{
      role: "user",
      content: [
        { type: "text", text: "look" },
        { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
        { type: "text", text: "and" },
        { type: "image_url", image_url: "data:image/gif;base64,BBBB" },
      ],
    }],
  });
  assert.equal(withImages!.content, `look${MEDIA_MARKER}and${MEDIA_MARKER}`);
  assert.deepEqual(withImages!.images, [
    "data:image/png;base64,AAAA",
    "data:image/gif;base64,BBBB",
  ]);
});

Deno.test("parseMessages() refuses audio, unknown parts and an image_url without a URL", () => {
  fails(
    () =>
      parseMessages({
        messages: [{ role: "user", content: [{ type: "input_audio", input_audio: {} }] }],
      }),
    /input_audio input is not supported/,
  );
  fails(
    () => parseMessages({ messages: [{ role: "user", content: [{ type: "video" }] }] }),
    /"video" is not supported/,
  );
  fails(
    () => parseMessages({ messages: [{ role: "user", content: [{ type: "image_url" }] }] }),
    /image_url must be \{"url": "data:image\/\.\.\.;base64,\.\.\."\}, got undefined/,
  );
});

Deno.test("parseMessages() keeps assistant tool calls and tool results", () => {
  const messages = parseMessages({
    messages: [
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"x":1}' } }],
      },
      { role: "tool", tool_call_id: "c1", content: "42" },
    ],
  });
  assert.deepEqual(messages, [
    {
      role: "assistant",
      content: null,
      tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"x":1}' } }],
    },
    { role: "tool", content: "42", tool_call_id: "c1" },
  ]);
  fails(
    () => parseMessages({ messages: [{ role: "assistant", tool_calls: [{}] }] }),
    /must be an object with a function/,
  );
});

Deno.test("parseTools() validates tools and tool_choice", () => {
  assert.equal(parseTools({}), null);
  const tools = [{ type: "function", function: { name: "f", parameters: { type: "object" } } }];
  assert.deepEqual(parseTools({ tools }), { tools, choice: "auto" });
  assert.deepEqual(parseTools({ tools, tool_choice: "none" })!.choice, "none");
  fails(() => parseTools({ tools: {} }), /^tools must be an array/, "tools");
  fails(
    () => parseTools({ tools: [{ type: "function", function: { name: "" } }] }),
    /name must be a non-empty string/,
    "tools",
  );
  fails(() => parseTools({ tools, tool_choice: "always" }), /^tool_choice must be/, "tool_choice");
});
