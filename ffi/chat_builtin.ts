/**
 * libllama's own chat templates (`llama_chat_apply_template`): the fixed formats it knows by
 * name (`chatml`, `command-r`, `llama3`, ...), what llama.cpp renders with `--no-jinja` and a
 * `--chat-template` name. Packs the `llama_chat_message` array; nothing else here.
 *
 * @module
 */
import { cString, decodeBytes } from "./cstring.ts";
import type { LlamaLibrary } from "./library.ts";

/** The names libllama's built-in templates answer to. */
export function builtinChatTemplateNames(lib: LlamaLibrary): string[] {
  const count = lib.llama.llama_chat_builtin_templates(new Uint8Array(0), 0n);
  if (count <= 0) return [];
  const pointers = new BigUint64Array(count);
  lib.llama.llama_chat_builtin_templates(new Uint8Array(pointers.buffer), BigInt(count));
  const names: string[] = [];
  for (const value of pointers) {
    const pointer = Deno.UnsafePointer.create(value);
    if (pointer !== null) names.push(Deno.UnsafePointerView.getCString(pointer));
  }
  return names;
}

/**
 * `messages` rendered by libllama's built-in template `name`, ending with the assistant's turn
 * header when `addAssistant`. Throws `RangeError` when libllama does not know the name.
 */
export function applyBuiltinChatTemplate(
  lib: LlamaLibrary,
  name: string,
  messages: readonly { role: string; content: string }[],
  addAssistant: boolean,
): string {
  // Each llama_chat_message is two pointers: role, content. The strings stay referenced here.
  const strings = messages.flatMap((m) => [cString(m.role), cString(m.content)]);
  const array = new BigUint64Array(Math.max(1, strings.length));
  strings.forEach((s, i) => {
    array[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(s)));
  });
  const template = cString(name);
  const chars = messages.reduce((n, m) => n + m.role.length + m.content.length, 0);
  let buffer = new Uint8Array(Math.max(256, chars * 4 + 256));
  const apply = () =>
    lib.llama.llama_chat_apply_template(
      template,
      new Uint8Array(array.buffer),
      BigInt(messages.length),
      addAssistant,
      buffer,
      buffer.length,
    );
  let length = apply();
  if (length > buffer.length) {
    buffer = new Uint8Array(length);
    length = apply();
  }
  if (length < 0) {
    throw new RangeError(`Cannot apply the chat template "${name}": libllama does not know it`);
  }
  return decodeBytes(buffer, length);
}
