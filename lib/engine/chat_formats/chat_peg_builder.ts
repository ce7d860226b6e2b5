/**
 * The chat layer over the PEG parsers (upstream `common/chat-peg-parser.cpp`): tags that mark
 * reasoning, content and the parts of a tool call in the parse tree, the shared tool-call
 * shapes (JSON objects in three layouts, XML-ish tagged arguments, Python calls), and the mapper
 * that turns a parse tree into a {@linkcode ParsedMessage}.
 *
 * @module
 */
import { emptyMessage, type ParsedMessage, type ParsedToolCall } from "./chat_message.ts";
import {
  type Peg,
  PegAst,
  type PegAstNode,
  PegBuilder,
  type PegLike,
  type PegParseResult,
} from "./peg_parser.ts";

/** The tags of the chat parse tree. */
export const TAG = {
  REASONING_BLOCK: "reasoning-block",
  REASONING: "reasoning",
  CONTENT: "content",
  TOOL: "tool",
  TOOL_OPEN: "tool-open",
  TOOL_CLOSE: "tool-close",
  TOOL_ID: "tool-id",
  TOOL_NAME: "tool-name",
  TOOL_ARGS: "tool-args",
  TOOL_ARG: "tool-arg",
  TOOL_ARG_OPEN: "tool-arg-open",
  TOOL_ARG_CLOSE: "tool-arg-close",
  TOOL_ARG_NAME: "tool-arg-name",
  TOOL_ARG_VALUE: "tool-arg-value",
  TOOL_ARG_STRING_VALUE: "tool-arg-string-value",
} as const;

/** An OpenAI function tool, as the formats read it. */
export interface ToolDefinition {
  type: "function";
  function: { name: string; description?: string; parameters?: unknown };
}

/** The parameters schema of a function: none, or `{}`, takes no arguments (upstream). */
export function toolParameters(fn: { parameters?: unknown }): Record<string, unknown> {
  const params = fn.parameters;
  if (
    params !== undefined && params !== null &&
    !(typeof params === "object" && !Array.isArray(params) && Object.keys(params).length === 0)
  ) {
    return params as Record<string, unknown>;
  }
  return { type: "object", properties: {} };
}

/** The function tools of `tools` (others are skipped, as upstream's foreach_function does). */
export function functionTools(tools: readonly unknown[]): ToolDefinition[] {
  return tools.filter((tool): tool is ToolDefinition =>
    tool !== null && typeof tool === "object" && (tool as ToolDefinition).type === "function" &&
    typeof (tool as ToolDefinition).function === "object"
  );
}

const MAX_PERMUTE = 6;

/** A PEG builder with the chat formats' tags and tool-call shapes. */
export class ChatPegBuilder extends PegBuilder {
  reasoningBlock(p: PegLike): Peg {
    return this.tag(TAG.REASONING_BLOCK, p);
  }
  reasoning(p: PegLike): Peg {
    return this.tag(TAG.REASONING, p);
  }
  content(p: PegLike): Peg {
    return this.tag(TAG.CONTENT, p);
  }
  tool(p: PegLike): Peg {
    return this.tag(TAG.TOOL, p);
  }
  toolOpen(p: PegLike): Peg {
    return this.atomic(this.tag(TAG.TOOL_OPEN, p));
  }
  toolClose(p: PegLike): Peg {
    return this.atomic(this.tag(TAG.TOOL_CLOSE, p));
  }
  toolId(p: PegLike): Peg {
    return this.atomic(this.tag(TAG.TOOL_ID, p));
  }
  toolName(p: PegLike): Peg {
    return this.atomic(this.tag(TAG.TOOL_NAME, p));
  }
  toolArgs(p: PegLike): Peg {
    return this.tag(TAG.TOOL_ARGS, p);
  }
  toolArg(p: PegLike): Peg {
    return this.tag(TAG.TOOL_ARG, p);
  }
  toolArgOpen(p: PegLike): Peg {
    return this.atomic(this.tag(TAG.TOOL_ARG_OPEN, p));
  }
  toolArgClose(p: PegLike): Peg {
    return this.atomic(this.tag(TAG.TOOL_ARG_CLOSE, p));
  }
  toolArgName(p: PegLike): Peg {
    return this.atomic(this.tag(TAG.TOOL_ARG_NAME, p));
  }
  toolArgValue(p: PegLike): Peg {
    return this.tag(TAG.TOOL_ARG_VALUE, p);
  }
  /** A value the schema declares a string: never read as a JSON container. */
  toolArgStringValue(p: PegLike): Peg {
    return this.tag(TAG.TOOL_ARG_STRING_VALUE, p);
  }
  toolArgJsonValue(p: PegLike): Peg {
    return this.tag(TAG.TOOL_ARG_VALUE, p);
  }

  /** Repeats `p` or single content chunks that do not start with `marker`. */
  tagWithSafeContent(tagName: string, marker: string, p: PegLike): Peg {
    if (marker === "") {
      return this.zeroOrMore(this.choice(p, this.rule(tagName, this.content(this.any()))));
    }
    const chunk = this.rule(
      tagName,
      this.content(this.seq(this.negate(this.literal(marker)), this.any(), this.until(marker))),
    );
    return this.zeroOrMore(this.choice(p, chunk));
  }

  /** Every one of `parsers` exactly once, in any order (more than six: in order). */
  permute(rulePrefix: string, parsers: Peg[]): Peg {
    if (parsers.length === 0) return this.eps();
    if (parsers.length === 1 || parsers.length > MAX_PERMUTE) return this.seq(...parsers);
    const rules = new Map<number, Peg>();
    const remainingOf = (remaining: number): Peg => {
      if (remaining === 0) return this.eps();
      const cached = rules.get(remaining);
      if (cached) return cached;
      let alternatives = this.choice();
      parsers.forEach((parser, i) => {
        const bit = 1 << i;
        if (remaining & bit) {
          alternatives = this.choice(alternatives, this.seq(parser, remainingOf(remaining & ~bit)));
        }
      });
      const rule = this.rule(`${rulePrefix}-${remaining}`, alternatives);
      rules.set(remaining, rule);
      return rule;
    };
    return remainingOf((1 << parsers.length) - 1);
  }

  /** The literal prefix of `s` up to `delimiter` (all of it without one; nothing for ""). */
  prefix(s: string, delimiter = ""): Peg {
    if (s === "") return this.eps();
    if (delimiter === "") return this.literal(s);
    const at = s.indexOf(delimiter);
    return this.literal(at < 0 ? s : s.slice(0, at));
  }

  /** `tag` with its leading and trailing whitespace made optional, character by character. */
  optspace(tag: string): Peg {
    let parser = this.eps();
    let endOfPrefix = tag.length;
    let startOfSuffix = tag.length;
    for (let i = 0; i < tag.length; i++) {
      if (!isSpace(tag[i]!)) {
        endOfPrefix = i;
        break;
      }
    }
    for (let i = tag.length; i > 0; i--) {
      if (!isSpace(tag[i - 1]!)) {
        startOfSuffix = i;
        break;
      }
    }
    for (let i = 0; i < endOfPrefix; i++) parser = this.seq(parser, this.optional(tag[i]!));
    parser = this.seq(parser, tag.slice(endOfPrefix, startOfSuffix));
    for (let i = startOfSuffix; i < tag.length; i++) {
      parser = this.seq(parser, this.optional(tag[i]!));
    }
    return parser;
  }

  /**
   * JSON tool calls (upstream standard_json_tools): `{"name": ..., "arguments": {...}}` objects
   * (or nested under a key, or keyed by the function name), optionally in an array, between
   * `sectionStart` and `sectionEnd`.
   */
  standardJsonTools(options: {
    sectionStart: string;
    sectionEnd: string;
    tools: readonly ToolDefinition[];
    parallel: boolean;
    force: boolean;
    nameKey?: string;
    argsKey?: string;
    arrayWrapped?: boolean;
    functionIsKey?: boolean;
    callIdKey?: string;
    genCallIdKey?: string;
    parametersOrder?: readonly string[];
    acceptOpenaiWrapper?: boolean;
  }): Peg {
    if (options.tools.length === 0) return this.eps();
    const nameKey = options.nameKey || "name";
    const argsKey = options.argsKey || "arguments";
    const callIdKey = options.callIdKey ?? "";
    const genCallIdKey = options.genCallIdKey ?? "";
    let choices: Peg;
    if (options.functionIsKey) {
      choices = this.#jsonToolsFunctionIsKey(
        options.tools,
        options.argsKey ?? "",
        argsKey,
        callIdKey,
        genCallIdKey,
      );
    } else if (nameKey.includes(".") || argsKey.includes(".")) {
      choices = this.#jsonToolsNested(options.tools, nameKey, argsKey, callIdKey, genCallIdKey);
    } else {
      choices = this.#jsonToolsFlat(
        options.tools,
        nameKey,
        argsKey,
        callIdKey,
        genCallIdKey,
        options.parametersOrder ?? [],
        options.acceptOpenaiWrapper ?? false,
      );
    }
    let calls = choices;
    if (options.parallel) {
      calls = this.seq(calls, this.zeroOrMore(this.seq(this.space(), ",", this.space(), choices)));
    }
    if (options.arrayWrapped) calls = this.seq("[", this.space(), calls, this.space(), "]");
    const section = this.triggerRule(
      "tool-call",
      this.seq(options.sectionStart, this.space(), calls, this.space(), options.sectionEnd),
    );
    return options.force ? section : this.optional(section);
  }

  #idField(key: string, stringOnly: boolean): Peg {
    const quoted = this.seq('"', this.toolId(this.stringContent('"')), '"');
    return this.atomic(
      this.seq(
        `"${key}"`,
        this.space(),
        ":",
        this.space(),
        stringOnly ? quoted : this.choice(quoted, this.toolId(this.jsonNumber())),
      ),
    );
  }

  #jsonToolsFunctionIsKey(
    tools: readonly ToolDefinition[],
    argsKey: string,
    effectiveArgsKey: string,
    callIdKey: string,
    genCallIdKey: string,
  ): Peg {
    let choices = this.choice();
    for (const tool of tools) {
      const name = tool.function.name;
      const params = toolParameters(tool.function);
      const fields: Peg[] = [];
      if (callIdKey !== "") {
        fields.push(
          this.optional(
            this.seq(
              this.#idField(callIdKey, true),
              this.space(),
              this.optional(this.seq(",", this.space())),
            ),
          ),
        );
      }
      if (genCallIdKey !== "") {
        fields.push(
          this.optional(
            this.seq(
              this.#idField(genCallIdKey, false),
              this.space(),
              this.optional(this.seq(",", this.space())),
            ),
          ),
        );
      }
      const schema = this.toolArgs(this.schema(this.json(), `tool-${name}-schema`, params));
      fields.push(
        argsKey === ""
          ? schema
          : this.seq(`"${effectiveArgsKey}"`, this.space(), ":", this.space(), schema),
      );
      let inner: Peg;
      if (argsKey === "" && fields.length === 1) {
        inner = fields[0]!;
      } else {
        inner = this.seq("{", this.space());
        fields.forEach((field, i) => {
          inner = this.seq(inner, field);
          if (i < fields.length - 1) inner = this.seq(inner, this.space());
        });
        inner = this.seq(inner, this.space(), "}");
      }
      const parser = this.tool(
        this.seq(
          this.toolOpen("{"),
          this.space(),
          '"',
          this.toolName(name),
          '"',
          this.space(),
          ":",
          this.space(),
          inner,
          this.space(),
          this.toolClose("}"),
        ),
      );
      choices = this.choice(choices, this.rule(`tool-${name}`, parser));
    }
    return choices;
  }

  #jsonToolsNested(
    tools: readonly ToolDefinition[],
    nameKey: string,
    argsKey: string,
    callIdKey: string,
    genCallIdKey: string,
  ): Peg {
    const split = (key: string): [string, string] => {
      const dot = key.indexOf(".");
      return dot < 0 ? ["", key] : [key.slice(0, dot), key.slice(dot + 1)];
    };
    const [namePrefix, nameField] = split(nameKey);
    const [argsPrefix, argsField] = split(argsKey);
    const nestedPrefix = namePrefix !== "" ? namePrefix : argsPrefix;
    const nestedName = namePrefix !== "" ? nameField : nameKey;
    const nestedArgs = argsPrefix !== "" ? argsField : argsKey;
    let choices = this.choice();
    for (const tool of tools) {
      const name = tool.function.name;
      const params = toolParameters(tool.function);
      const nameP = this.seq(
        `"${nestedName}"`,
        this.space(),
        ":",
        this.space(),
        this.atomic(this.seq('"', this.toolName(name), '"')),
      );
      const argsP = this.seq(
        `"${nestedArgs}"`,
        this.space(),
        ":",
        this.space(),
        this.toolArgs(this.schema(this.json(), `tool-${name}-schema`, params)),
      );
      const nested = this.seq(
        "{",
        this.space(),
        nameP,
        this.space(),
        ",",
        this.space(),
        argsP,
        this.space(),
        "}",
      );
      let body = this.seq(this.toolOpen("{"), this.space());
      if (callIdKey !== "" && split(callIdKey)[0] === "") {
        body = this.seq(
          body,
          this.optional(this.seq(this.#idField(callIdKey, true), this.space(), ",", this.space())),
        );
      }
      if (genCallIdKey !== "" && split(genCallIdKey)[0] === "") {
        body = this.seq(
          body,
          this.optional(
            this.seq(this.#idField(genCallIdKey, false), this.space(), ",", this.space()),
          ),
        );
      }
      body = this.seq(
        body,
        `"${nestedPrefix}"`,
        this.space(),
        ":",
        this.space(),
        nested,
        this.space(),
        this.toolClose("}"),
      );
      choices = this.choice(choices, this.rule(`tool-${name}`, this.tool(body)));
    }
    return choices;
  }

  #jsonToolsFlat(
    tools: readonly ToolDefinition[],
    nameKey: string,
    argsKey: string,
    callIdKey: string,
    genCallIdKey: string,
    order: readonly string[],
    acceptOpenaiWrapper: boolean,
  ): Peg {
    let choices = this.choice();
    for (const tool of tools) {
      const name = tool.function.name;
      const params = toolParameters(tool.function);
      const nameP = this.seq(
        `"${nameKey}"`,
        this.space(),
        ":",
        this.space(),
        this.atomic(this.seq('"', this.toolName(name), '"')),
      );
      const argsP = this.seq(
        `"${argsKey}"`,
        this.space(),
        ":",
        this.space(),
        this.toolArgs(this.schema(this.json(), `tool-${name}-schema`, params)),
      );
      const pairs: [Peg, string][] = [[nameP, nameKey], [argsP, argsKey]];
      if (callIdKey !== "") pairs.push([this.optional(this.#idField(callIdKey, false)), callIdKey]);
      if (genCallIdKey !== "") {
        pairs.push([this.optional(this.#idField(genCallIdKey, false)), genCallIdKey]);
      }
      const rank = (key: string) => {
        const i = order.indexOf(key);
        return i < 0 ? order.length : i;
      };
      pairs.sort((a, b) => rank(a[1]) - rank(b[1]));
      const typeField = acceptOpenaiWrapper
        ? this.optional(
          this.seq(
            '"type"',
            this.space(),
            ":",
            this.space(),
            '"function"',
            this.space(),
            ",",
            this.space(),
          ),
        )
        : this.eps();
      let body = this.seq(this.toolOpen("{"), this.space(), typeField);
      pairs.forEach(([p], i) => {
        body = this.seq(body, p);
        if (i < pairs.length - 1) body = this.seq(body, this.space(), ",", this.space());
      });
      body = this.seq(body, this.space(), this.toolClose("}"));
      choices = this.choice(choices, this.rule(`tool-${name}`, this.tool(body)));
    }
    return choices;
  }

  /**
   * Tagged tool calls (upstream standard_constructed_tools): `<function=name>` with
   * `<param=key>value</param>` arguments, between section markers.
   */
  standardConstructedTools(
    markers: Partial<Record<string, string>>,
    tools: readonly ToolDefinition[],
    parallel: boolean,
    force: boolean,
  ): Peg {
    if (tools.length === 0) return this.eps();
    const m = (key: string, fallback: string) => markers[key] ?? fallback;
    const sectionStart = m("tool_call_start_marker", "<tool_call>");
    const sectionEnd = m("tool_call_end_marker", "</tool_call>");
    const opener = m("function_opener", "<function=");
    const nameSuffix = m("function_name_suffix", ">");
    const closer = m("function_closer", "</function>");
    const keyPrefix = m("parameter_key_prefix", "<param=");
    const keySuffix = m("parameter_key_suffix", ">");
    const paramCloser = m("parameter_closer", "</param>");
    let choices = this.choice();
    for (const tool of tools) {
      const name = tool.function.name;
      const params = toolParameters(tool.function);
      let args = this.eps();
      const properties = params.properties;
      if (
        properties !== null && typeof properties === "object" && Object.keys(properties).length > 0
      ) {
        let argChoice = this.choice();
        for (const prop of Object.keys(properties)) {
          const argName = this.choice(prop, `"${prop}"`, `'${prop}'`);
          const arg = this.toolArg(
            this.seq(
              this.toolArgOpen(keyPrefix),
              this.toolArgName(argName),
              keySuffix,
              this.toolArgValue(this.until(paramCloser)),
              this.toolArgClose(paramCloser),
            ),
          );
          argChoice = this.choice(argChoice, arg);
        }
        args = this.zeroOrMore(this.seq(argChoice, this.space()));
      }
      const parser = this.tool(
        this.seq(
          this.toolOpen(this.seq(opener, this.toolName(name), nameSuffix)),
          this.space(),
          this.toolArgs(args),
          this.space(),
          this.toolClose(closer),
        ),
      );
      choices = this.choice(choices, this.rule(`tool-${name}`, parser));
    }
    const section = parallel
      ? this.triggerRule(
        "tool-call",
        this.seq(
          sectionStart,
          this.space(),
          this.oneOrMore(this.seq(choices, this.space())),
          sectionEnd,
        ),
      )
      : this.triggerRule(
        "tool-call",
        this.seq(sectionStart, this.space(), choices, this.space(), sectionEnd),
      );
    return force ? section : this.optional(section);
  }

  /** A Python value whose leaves may also be JSON's true, false and null. */
  pythonOrJsonValue(): Peg {
    return this.rule("python-or-json-value", () => {
      const ws = this.space();
      const value = this.pythonOrJsonValue();
      const member = this.seq(this.pythonString(), ws, ":", ws, value);
      const members = this.seq(member, this.zeroOrMore(this.seq(ws, ",", ws, member)));
      const dict = this.rule(
        "python-or-json-dict",
        () => this.seq("{", ws, this.choice("}", this.seq(members, ws, "}")), ws),
      );
      const elements = this.seq(value, this.zeroOrMore(this.seq(",", ws, value)));
      const array = this.rule(
        "python-or-json-array",
        () => this.seq("[", ws, this.choice("]", this.seq(elements, ws, "]")), ws),
      );
      return this.choice(
        dict,
        array,
        this.pythonString(),
        this.jsonNumber(),
        this.pythonBool(),
        this.pythonNull(),
        this.jsonBool(),
        this.jsonNull(),
      );
    });
  }

  /** Python-style calls `[name(arg1="value1", arg2=123)]` (upstream python_style_tool_calls). */
  pythonStyleToolCalls(
    tools: readonly ToolDefinition[],
    parallel: boolean,
    jsonLiterals: boolean,
  ): Peg {
    if (tools.length === 0) return this.eps();
    let choices = this.choice();
    for (const tool of tools) {
      const name = tool.function.name;
      const params = toolParameters(tool.function);
      let args = this.eps();
      const properties = params.properties as Record<string, Record<string, unknown>> | undefined;
      if (
        properties !== null && typeof properties === "object" && Object.keys(properties).length > 0
      ) {
        let argChoice = this.choice();
        for (const [prop, def] of Object.entries(properties)) {
          const isString = def !== null && typeof def === "object" && def.type === "string";
          const stringValue = this.toolArgValue(
            this.choice(
              this.seq('"', this.stringContent('"'), '"'),
              this.seq("'", this.stringContent("'"), "'"),
            ),
          );
          const value = isString
            ? stringValue
            : this.toolArgValue(jsonLiterals ? this.pythonOrJsonValue() : this.pythonValue());
          const arg = this.toolArg(
            this.seq(
              this.toolArgOpen(this.seq(this.toolArgName(prop), "=")),
              value,
              this.toolArgClose(this.eps()),
            ),
          );
          argChoice = this.choice(argChoice, arg);
        }
        args = this.seq(argChoice, this.zeroOrMore(this.seq(",", this.space(), argChoice)));
      }
      const parser = this.tool(
        this.seq(
          this.toolOpen(this.seq(this.toolName(name), "(")),
          this.space(),
          this.toolArgs(args),
          this.space(),
          this.toolClose(")"),
        ),
      );
      choices = this.choice(choices, this.rule(`tool-${name}`, parser));
    }
    if (parallel) {
      return this.seq(
        "[",
        this.space(),
        choices,
        this.zeroOrMore(this.seq(",", this.space(), choices)),
        this.space(),
        "]",
      );
    }
    return this.seq("[", this.space(), choices, this.space(), "]");
  }
}

function isSpace(c: string): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\v" || c === "\f" || c === "\r";
}

function trimTrailingSpace(s: string, max = -1): string {
  let end = s.length;
  let count = 0;
  while (end > 0 && isSpace(s[end - 1]!) && (max === -1 || count < max)) {
    end--;
    count++;
  }
  return s.slice(0, end);
}

function trimLeadingSpace(s: string, max = -1): string {
  let start = 0;
  while (start < s.length && isSpace(s[start]!) && (max === -1 || start < max)) start++;
  return s.slice(start);
}

/** The number of unclosed `{` in JSON-like text, ignoring those in strings. */
function jsonBraceDepth(s: string): number {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (const c of s) {
    if (escaped) {
      escaped = false;
      continue;
    }
    if (c === "\\" && inString) {
      escaped = true;
      continue;
    }
    if (c === '"') {
      inString = !inString;
      continue;
    }
    if (!inString) {
      if (c === "{") depth++;
      else if (c === "}") depth--;
    }
  }
  return depth;
}

/** `s` JSON-escaped, without the quotes. */
export function escapeJsonStringInner(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

const WORD_CHAR = /[A-Za-z0-9_]/;

/** Python literals in `input` as JSON: single quotes to double, True/False/None to JSON. */
export function normalizeQuotesToJson(input: string): string {
  let out = "";
  let inSingle = false;
  let inDouble = false;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c === "\\" && i + 1 < input.length) {
      const next = input[i + 1]!;
      if (inSingle) {
        if (next === "'") out += "'";
        else if (next === '"') out += '\\"';
        else out += c + next;
        i++;
        continue;
      }
      if (inDouble) {
        out += c + next;
        i++;
        continue;
      }
      out += c;
      continue;
    }
    if (c === '"') {
      if (inSingle) out += '\\"';
      else {
        inDouble = !inDouble;
        out += c;
      }
    } else if (c === "'") {
      if (inDouble) out += c;
      else if (inSingle) {
        inSingle = false;
        out += '"';
      } else {
        inSingle = true;
        out += '"';
      }
    } else if (
      !inSingle && !inDouble && (c === "T" || c === "F" || c === "N") &&
      (i === 0 || !WORD_CHAR.test(input[i - 1]!))
    ) {
      let n = 0;
      while (i + n < input.length && WORD_CHAR.test(input[i + n]!)) n++;
      const token = input.slice(i, i + n);
      const literals: [string, string][] = [["True", "true"], ["False", "false"], ["None", "null"]];
      const found = literals.find(([py]) => py.slice(0, n) === token);
      if (found) {
        out += found[1].slice(0, n);
        i += n - 1;
      } else {
        out += c;
      }
    } else {
      out += c;
    }
  }
  return out;
}

/** Turns a chat parse tree into a message (upstream common_chat_peg_mapper). */
export class ChatMapper {
  readonly result: ParsedMessage = emptyMessage();
  #pending: ParsedToolCall | null = null;
  #current: ParsedToolCall | null = null;
  #argCount = 0;
  #closingQuotePending = false;
  #argsBuffer = "";

  #argsTarget(): "tool" | "buffer" {
    return this.#current !== null && this.#current.name !== "" ? "tool" : "buffer";
  }

  #appendArgs(text: string): void {
    if (this.#argsTarget() === "tool") this.#current!.arguments += text;
    else this.#argsBuffer += text;
  }

  #setArgs(text: string): void {
    if (this.#argsTarget() === "tool") this.#current!.arguments = text;
    else this.#argsBuffer = text;
  }

  #argsText(): string {
    return this.#argsTarget() === "tool" ? this.#current!.arguments : this.#argsBuffer;
  }

  /** Python-ish container values as JSON (overridable per format). */
  normalizeContainerValue(input: string): string {
    return normalizeQuotesToJson(input);
  }

  fromAst(ast: PegAst, parse: PegParseResult): ParsedMessage {
    ast.visit(parse, (node) => this.map(node));
    // a tool call started but cut short (partial parsing)
    if (this.#pending !== null && this.#pending.name !== "") {
      if (this.#argsBuffer !== "") this.#pending.arguments = this.#argsBuffer;
      if (this.#closingQuotePending && this.#pending.arguments !== "") {
        this.#pending.arguments += '"';
      }
      this.result.toolCalls.push(this.#pending);
      this.#pending = null;
    }
    // whitespace-only reasoning (an empty <think></think> prefill) is none
    if (/^[ \n\r\t]*$/.test(this.result.reasoningContent)) this.result.reasoningContent = "";
    return this.result;
  }

  map(node: PegAstNode): void {
    if (node.tag === TAG.REASONING) this.result.reasoningContent += node.text;
    if (node.tag === TAG.CONTENT) this.result.content += node.text;

    if (node.tag === TAG.TOOL_OPEN) {
      this.#pending = { name: "", arguments: "", id: "" };
      this.#current = this.#pending;
      this.#argCount = 0;
      this.#argsBuffer = "";
      this.#closingQuotePending = false;
    }
    const current = this.#current;
    if (node.tag === TAG.TOOL_ID && current !== null) {
      let text = trimTrailingSpace(node.text);
      if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1);
      current.id = text;
    }
    if (node.tag === TAG.TOOL_NAME && current !== null) {
      current.name = trimTrailingSpace(node.text);
      if (this.#argsBuffer !== "") {
        current.arguments = this.#argsBuffer;
        this.#argsBuffer = "";
      } else if (current.arguments === "") {
        current.arguments = "{";
      }
      // visible to streaming as soon as it has a name
      if (this.#pending !== null) {
        this.result.toolCalls.push(this.#pending);
        this.#pending = null;
      }
    }
    if (node.tag === TAG.TOOL_ARGS && current !== null) {
      const text = trimTrailingSpace(node.text);
      if (text.startsWith("{")) this.#setArgs(text);
    }
    if (node.tag === TAG.TOOL_ARG_OPEN) this.#closingQuotePending = false;
    if (node.tag === TAG.TOOL_ARG_NAME && current !== null) {
      let entry = this.#argCount > 0 ? "," : "";
      entry += JSON.stringify(trimTrailingSpace(trimLeadingSpace(node.text, 1))) + ":";
      this.#argCount++;
      if (this.#argsText() === "") this.#setArgs("{");
      this.#appendArgs(entry);
    }
    const isValue = node.tag === TAG.TOOL_ARG_VALUE;
    const isString = node.tag === TAG.TOOL_ARG_STRING_VALUE;
    if ((isValue || isString) && current !== null) {
      const value = node.text;
      let add = "";
      if (value === "" && isString) {
        add = '"';
        this.#closingQuotePending = true;
      } else if (value !== "" && isString) {
        if (!this.#closingQuotePending) {
          add = '"';
          this.#closingQuotePending = true;
        }
        add += escapeJsonStringInner(value);
      } else if (value !== "") {
        add += this.normalizeContainerValue(value);
      }
      this.#appendArgs(add);
    }
    if (node.tag === TAG.TOOL_ARG_CLOSE && current !== null && this.#closingQuotePending) {
      this.#appendArgs('"');
      this.#closingQuotePending = false;
    }
    if (node.tag === TAG.TOOL_CLOSE && current !== null) {
      if (current.name === "" && this.#argsBuffer !== "") {
        current.arguments = this.#argsBuffer;
        this.#argsBuffer = "";
      }
      if (this.#closingQuotePending) {
        current.arguments += '"';
        this.#closingQuotePending = false;
      }
      for (let d = jsonBraceDepth(current.arguments); d > 0; d--) current.arguments += "}";
      if (this.#pending !== null) {
        if (current.name !== "") this.result.toolCalls.push(this.#pending);
        this.#pending = null;
      }
    }
  }
}

/** Builds a chat parser: `build` gets a fresh builder and returns the root. */
export function buildChatParser(build: (p: ChatPegBuilder) => Peg) {
  const builder = new ChatPegBuilder();
  return builder.build(build(builder));
}
