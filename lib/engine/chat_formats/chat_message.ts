/**
 * What a chat format reads out of generated text (upstream `common_chat_msg`): content,
 * reasoning, tool calls; and the deltas between two parses of a growing text, which is what a
 * stream sends (upstream `common_chat_msg_diff::compute_diffs`).
 *
 * @module
 */

/** A tool call read from generated text; `arguments` is JSON text (partial while streaming). */
export interface ParsedToolCall {
  name: string;
  arguments: string;
  /** The id the model wrote, or "" (the server then makes one). */
  id: string;
}

/** Generated text split by a chat format. */
export interface ParsedMessage {
  content: string;
  reasoningContent: string;
  toolCalls: ParsedToolCall[];
}

/** An empty message. */
export function emptyMessage(): ParsedMessage {
  return { content: "", reasoningContent: "", toolCalls: [] };
}

/** True when `message` holds nothing at all. */
export function isEmptyMessage(message: ParsedMessage): boolean {
  return message.content === "" && message.reasoningContent === "" &&
    message.toolCalls.length === 0;
}

/** One change between two parses of a growing text. */
export interface MessageDelta {
  reasoningContent?: string;
  content?: string;
  /** The tool call this delta extends (its index), with its new name/id and argument text. */
  toolCall?: { index: number; name: string; id: string; arguments: string };
}

function stringDiff(last: string, current: string): string {
  if (last === "") return current;
  if (!current.startsWith(last)) {
    // the last parse ended on a partial stop word that the final one dropped
    if (last.startsWith(current)) return "";
    throw new RangeError(
      `Cannot diff the parsed output: "${last}" is not at the start of "${current}"`,
    );
  }
  return current.slice(last.length);
}

/**
 * The deltas that turn `previous` into `next`, where `next` parsed a longer text than
 * `previous` (upstream compute_diffs). Throws `RangeError` when `next` does not extend it.
 */
export function messageDeltas(previous: ParsedMessage, next: ParsedMessage): MessageDelta[] {
  const deltas: MessageDelta[] = [];
  if (previous.reasoningContent !== next.reasoningContent) {
    deltas.push({ reasoningContent: stringDiff(previous.reasoningContent, next.reasoningContent) });
  }
  if (previous.content !== next.content) {
    deltas.push({ content: stringDiff(previous.content, next.content) });
  }
  if (next.toolCalls.length < previous.toolCalls.length) {
    throw new RangeError("Cannot diff the parsed output: it has fewer tool calls than before");
  }
  if (previous.toolCalls.length > 0) {
    const index = previous.toolCalls.length - 1;
    const before = previous.toolCalls[index]!;
    const after = next.toolCalls[index]!;
    if (
      before.name !== after.name && before.name !== "" && after.name !== "" &&
      !after.name.startsWith(before.name)
    ) {
      throw new RangeError("Cannot diff the parsed output: a tool call changed its name");
    }
    const args = stringDiff(before.arguments, after.arguments);
    if (args !== "" || before.id !== after.id || before.name !== after.name) {
      const renamed = before.id !== after.id || before.name !== after.name;
      deltas.push({
        toolCall: {
          index,
          name: renamed ? after.name : "",
          id: renamed ? after.id : "",
          arguments: args,
        },
      });
    }
  }
  for (let index = previous.toolCalls.length; index < next.toolCalls.length; index++) {
    const call = next.toolCalls[index]!;
    deltas.push({ toolCall: { index, name: call.name, id: call.id, arguments: call.arguments } });
  }
  return deltas;
}
