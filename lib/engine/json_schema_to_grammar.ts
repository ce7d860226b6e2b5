/**
 * JSON Schema → GBNF grammar, with the semantics of llama.cpp's
 * `common/json-schema.cpp` + `common/json-schema-to-grammar.cpp` (release v0.5.0): the same
 * rule names, the same rule bodies, the same sorted output, so a schema gives the text that
 * llama.cpp's server would give it.
 *
 * Deliberate differences from upstream, each one where upstream's grammar is wrong or refuses
 * a valid schema:
 * - Keys allowed by `additionalProperties` never start with a raw `\`, a control character or
 *   DEL (upstream lets `"\": 1` through, which is not JSON), and property names with `]`, `-`,
 *   `\`, `^` or characters JSON escapes are escaped in the key-exclusion character classes.
 * - A top-level property named `""` gets the rule `-` instead of replacing `root` (upstream's
 *   `root` then accepts an integer instead of the object), and when it is the only property,
 *   additional keys are any non-empty string (upstream allows only `""` itself).
 * - A property named `*` is an ordinary property (upstream mistakes it for additional ones).
 * - Boolean schemas: `true` is any value; `false` is an error, except `items: false` beside
 *   `prefixItems`, which closes the tuple. `$ref: "#"` refers to the whole document, and
 *   `~0` / `~1` in `$ref` pointers are unescaped.
 * - Patterns are read by code point, so a quantifier after a non-ASCII character repeats that
 *   character, not its last UTF-8 byte.
 * - Integer bounds with one side open: upstream accepts 10 for `minimum: 100`, rejects 1015 for
 *   `minimum: 115`, lets `-05` through for `maximum: -5`, and writes `[0-9]{16,15}` (which
 *   llama.cpp's grammar loader cannot digest) for 16-digit bounds. Two-sided ranges are
 *   upstream's, text for text.
 * - Unsatisfiable bounds (`minItems` > `maxItems`, `minLength` > `maxLength`, `minimum` >
 *   `maximum`) and integer bounds beyond ±(2^53 − 1) are errors rather than broken grammars.
 * - Errors are thrown at the first problem as a `TypeError` naming the path and keyword. A
 *   pattern that is valid but has no grammar equivalent (`\d`, lookaround, unanchored) falls
 *   back to any string, as upstream does, and is reported through `options.onWarning`.
 *
 * @module
 */

/** Options for {@linkcode jsonSchemaToGrammar}. */
export interface JsonSchemaToGrammarOptions {
  /** Let `.` in `pattern` match line breaks too (upstream's `dotall`). Default false. */
  dotall?: boolean;
  /** Called for each part of the schema that was loosened (an unsupported `pattern`). */
  onWarning?: (message: string) => void;
}

/**
 * A GBNF grammar for any JSON object, for `response_format: {"type": "json_object"}`; the text
 * of llama.cpp's `grammars/json.gbnf`.
 */
export const JSON_GRAMMAR = `root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
            string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::=
  "[" ws (
            value
    ("," ws value)*
  )? "]" ws

string ::=
  "\\"" (
    [^"\\\\\\x7F\\x00-\\x1F] |
    "\\\\" (["\\\\bfnrt] | "u" [0-9a-fA-F]{4}) # escapes
  )* "\\"" ws

number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9] [1-9]{0,15})? ws

# Optional space: by convention, applied in this grammar after literal chars when allowed
ws ::= | " " | "\\n" [ \\t]{0,20}
`;

/**
 * Parses JSON Schema text given on the command line (`--json-schema`, `-j`).
 *
 * @throws {SyntaxError} `Cannot parse JSON schema: <reason>` when the text is not JSON.
 */
export function parseJsonSchemaArg(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new SyntaxError(`Cannot parse JSON schema: ${reason}`, { cause: error });
  }
}

/**
 * Converts a JSON Schema into a GBNF grammar whose start rule is `root`, for
 * `llama_sampler_init_grammar`. `{}` and `true` accept any JSON value.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 *
 * const grammar = jsonSchemaToGrammar({
 *   type: "object",
 *   properties: { n: { type: "integer" } },
 *   required: ["n"],
 * });
 * ok(grammar.includes('root ::= "{" space n-kv space "}"\n'));
 * ok(grammar.includes('n-kv ::= "\\"n\\"" space ":" space integer\n'));
 * ```
 *
 * @throws {TypeError} when the schema is invalid or outside the supported subset; the message
 * names the JSON pointer path and the keyword, e.g.
 * `Cannot convert JSON schema at #/properties/a: "minItems" must be a non-negative integer, got -1`.
 * @throws {RangeError} when the schema nests deeper than 256 levels.
 */
export function jsonSchemaToGrammar(
  schema: unknown,
  options: JsonSchemaToGrammarOptions = {},
): string {
  const root = new _SchemaBuilder(schema).build();
  const converter = new _Converter(options.dotall ?? false, options.onWarning);
  converter.visit(root, "");
  return converter.format();
}

/**
 * A parsed JSON schema (upstream `common_chat_schema_document`): its root node, and for an object
 * schema the nodes of its properties. {@linkcode GrammarBuilder.addSchema} converts any of them
 * with the document's `$ref`s resolved.
 */
export interface SchemaDocument {
  /** The root node. */
  readonly root: SchemaNode;
  /** The properties of an object root, in the schema's order (empty otherwise). */
  readonly properties: readonly { name: string; schema: SchemaNode; required: boolean }[];
}

/** One node of a parsed schema (opaque outside this module). */
export type SchemaNode = { readonly kind: string };

/** Parses `schema` once, for {@linkcode GrammarBuilder.addSchema} (throws as `jsonSchemaToGrammar`). */
export function parseSchemaDocument(schema: unknown): SchemaDocument {
  const root = new _SchemaBuilder(schema).build();
  return { root, properties: root.kind === "object" ? root.properties : [] };
}

/** Whether a value matching `node` may be a string, through any branch (upstream may_be_string). */
export function schemaMayBeString(node: SchemaNode): boolean {
  return _mayBeString(node as _Node, new Set());
}

/** The JSON types a value matching `node` may have (upstream value_types). */
export function schemaValueTypes(node: SchemaNode): Set<string> {
  return _valueTypes(node as _Node, new Set());
}

const _ALL_TYPES = ["null", "boolean", "number", "integer", "string", "array", "object"];

function _jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function _valueTypes(s: _Node, visited: Set<_Node>): Set<string> {
  switch (s.kind) {
    case "any":
      return new Set(_ALL_TYPES);
    case "null":
    case "boolean":
    case "string":
    case "integer":
      return new Set([s.kind]);
    case "number":
      return new Set(["number", "integer"]);
    case "array":
    case "tuple":
      return new Set(["array"]);
    case "object":
      return new Set(["object"]);
    case "const":
      return new Set([_jsonType(s.value)]);
    case "enum":
      return new Set(s.values.map(_jsonType));
    case "ref": {
      if (s.target === undefined || visited.has(s.target)) return new Set();
      visited.add(s.target);
      const types = _valueTypes(s.target, visited);
      visited.delete(s.target);
      return types;
    }
    case "anyOf": {
      const types = new Set<string>();
      for (const child of s.children) for (const t of _valueTypes(child, visited)) types.add(t);
      return types;
    }
    case "allOf": {
      let types = new Set(_ALL_TYPES);
      for (const child of s.children) {
        const more = _valueTypes(child, visited);
        types = new Set([...types].filter((t) => more.has(t)));
      }
      return types;
    }
  }
}

function _mayBeString(s: _Node, visited: Set<_Node>): boolean {
  switch (s.kind) {
    case "string":
      return true;
    case "const":
      return typeof s.value === "string";
    case "enum":
      return s.values.some((v) => typeof v === "string");
    case "ref": {
      // a cycle is taken as not a string, to be safe
      if (s.target === undefined || visited.has(s.target)) return false;
      visited.add(s.target);
      const result = _mayBeString(s.target, visited);
      visited.delete(s.target);
      return result;
    }
    case "anyOf":
      return s.children.some((child) => _mayBeString(child, visited));
    case "allOf": {
      // every child must allow a string, an any child constrains nothing
      let anyString = false;
      for (const child of s.children) {
        if (child.kind === "any") continue;
        if (!_mayBeString(child, visited)) return false;
        anyString = true;
      }
      return anyString;
    }
    default:
      return false;
  }
}

/** What {@linkcode buildGrammar}'s callback adds rules through (upstream common_grammar_builder). */
export interface GrammarBuilder {
  /** Adds rule `name` (renamed when taken by another body); returns the name used. */
  addRule(name: string, rule: string): string;
  /** Adds the rules of a schema node under `name` ("root" is the start rule); returns its rule. */
  addSchema(name: string, node: SchemaNode): string;
}

/**
 * A grammar built rule by rule, with schemas converted as `jsonSchemaToGrammar` does and their
 * shared rules (`space`, `string`, ...) written once (upstream `build_grammar`).
 */
export function buildGrammar(
  build: (builder: GrammarBuilder) => void,
  options: JsonSchemaToGrammarOptions = {},
): string {
  const converter = new _Converter(options.dotall ?? false, options.onWarning);
  build({
    addRule: (name, rule) => converter.addRule(name, rule),
    addSchema: (name, node) => converter.visit(node as _Node, name === "root" ? "" : name),
  });
  return converter.format();
}

/** `literal` quoted as a GBNF string literal (upstream gbnf_format_literal). */
export function formatGbnfLiteral(literal: string): string {
  return _formatLiteral(literal);
}

// ---------------------------------------------------------------------------------------------
// Schema model (common/json-schema.h): the parsed, validated subset that the converter reads.

type _Format = "none" | "uuid" | "date" | "time" | "date-time";

type _Node =
  | { kind: "any" }
  | { kind: "ref"; ref: string; target: _Node | undefined }
  | { kind: "anyOf"; children: _Node[] }
  | { kind: "allOf"; children: _Node[] }
  | { kind: "const"; value: unknown }
  | { kind: "enum"; values: unknown[] }
  | { kind: "null" }
  | { kind: "boolean" }
  | { kind: "number" }
  | { kind: "integer"; minimum: number | null; maximum: number | null }
  | {
    kind: "string";
    path: string;
    pattern: string | null;
    format: _Format;
    minLength: number;
    maxLength: number | null;
  }
  | { kind: "array"; items: _Node; minItems: number; maxItems: number | null }
  | { kind: "tuple"; items: _Node[] }
  | { kind: "object"; properties: _Property[]; additional: _Node | null };

interface _Property {
  name: string;
  schema: _Node;
  required: boolean;
}

type _Json = Record<string, unknown>;

const _MAX_SCHEMA_DEPTH = 256;

function _isObject(value: unknown): value is _Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function _has(object: _Json, key: string): boolean {
  return Object.hasOwn(object, key);
}

/** JSON text of a value for an error message, cut short. */
function _show(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  text ??= String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function _pointerToken(name: string): string {
  return name.replaceAll("~", "~0").replaceAll("/", "~1");
}

function _fail(path: string, message: string): never {
  throw new TypeError(`Cannot convert JSON schema at ${path}: ${message}`);
}

/** JSON text of a `const` / `enum` value, as nlohmann's `dump()` writes it. */
function _dump(value: unknown, path: string, keyword: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    _fail(path, `"${keyword}" must hold JSON values: ${(error as Error).message}`);
  }
  if (text === undefined) _fail(path, `"${keyword}" must hold JSON values, got ${String(value)}`);
  return text;
}

class _SchemaBuilder {
  readonly #root: unknown;
  readonly #refs = new Map<string, _Node | undefined>();
  readonly #pending: Extract<_Node, { kind: "ref" }>[] = [];
  #depth = 0;

  constructor(root: unknown) {
    this.#root = root;
  }

  build(): _Node {
    const node = this.#node(this.#root, "#");
    for (const ref of this.#pending) ref.target = this.#refs.get(ref.ref);
    return node;
  }

  #node(schema: unknown, path: string): _Node {
    if (++this.#depth > _MAX_SCHEMA_DEPTH) {
      throw new RangeError(
        `Cannot convert JSON schema at ${path}: nested deeper than ${_MAX_SCHEMA_DEPTH} levels`,
      );
    }
    try {
      return this.#build(schema, path);
    } finally {
      this.#depth--;
    }
  }

  #build(schema: unknown, path: string): _Node {
    if (schema === true) return { kind: "any" };
    if (schema === false) _fail(path, "schema false accepts no value");
    if (!_isObject(schema)) {
      _fail(path, `schema must be an object or a boolean, got ${_show(schema)}`);
    }

    if (_has(schema, "$ref")) return this.#ref(schema["$ref"], path);
    if (_has(schema, "oneOf") || _has(schema, "anyOf")) {
      const key = _has(schema, "oneOf") ? "oneOf" : "anyOf";
      return { kind: "anyOf", children: this.#alternatives(schema[key], `${path}/${key}`, key) };
    }

    const type = _has(schema, "type") ? schema.type : null;
    if (Array.isArray(type)) {
      // {"type": ["a", "b"], ...} is {"anyOf": [{"type": "a", ...}, {"type": "b", ...}]}
      if (type.length === 0) _fail(path, `"type" must not be empty`);
      return {
        kind: "anyOf",
        children: type.map((t, i) => this.#node({ ...schema, type: t }, `${path}/type/${i}`)),
      };
    }
    if (_has(schema, "const")) {
      _dump(schema.const, path, "const");
      return { kind: "const", value: schema.const };
    }
    if (_has(schema, "enum")) {
      const values = schema.enum;
      if (!Array.isArray(values) || values.length === 0) {
        _fail(path, `"enum" must be a non-empty array, got ${_show(values)}`);
      }
      for (const value of values) _dump(value, path, "enum");
      return { kind: "enum", values: [...values] };
    }
    if (type !== null && typeof type !== "string") {
      _fail(path, `"type" must be a string or an array of strings, got ${_show(type)}`);
    }

    const hasProperties = _has(schema, "properties") ||
      (_has(schema, "additionalProperties") && schema.additionalProperties !== true);

    if (type === null || type === "") {
      // without a type the structural keywords decide, in the same order as upstream
      if (hasProperties) return this.#object(schema, path);
      if (_has(schema, "allOf")) return this.#allOf(schema, path);
      if (_has(schema, "items") || _has(schema, "prefixItems")) return this.#array(schema, path);
      if (
        _has(schema, "pattern") || _has(schema, "minLength") || _has(schema, "maxLength") ||
        _format(schema, path) !== "none"
      ) {
        return this.#string(schema, path);
      }
      return { kind: "any" };
    }
    switch (type) {
      case "object":
        if (!hasProperties && _has(schema, "allOf")) return this.#allOf(schema, path);
        return this.#object(schema, path);
      case "string":
        if (_has(schema, "allOf")) return this.#allOf(schema, path);
        return this.#string(schema, path);
      case "array":
        return this.#array(schema, path);
      case "integer":
        return this.#integer(schema, path);
      case "number":
        return { kind: "number" };
      case "boolean":
        return { kind: "boolean" };
      case "null":
        return { kind: "null" };
    }
    _fail(path, `"type" ${_show(type)} is not a JSON Schema type`);
  }

  #ref(value: unknown, path: string): _Node {
    if (typeof value !== "string") _fail(path, `"$ref" must be a string, got ${_show(value)}`);
    if (value !== "#" && !value.startsWith("#/")) {
      _fail(
        path,
        `"$ref" ${_show(value)} is not supported: only references into the same document ` +
          `(#/$defs/..., #/definitions/...) are`,
      );
    }
    if (!this.#refs.has(value)) {
      // reserve the key first, so that a cycle back to this $ref stops here
      this.#refs.set(value, undefined);
      this.#refs.set(value, this.#node(this.#resolve(value, path), value));
    }
    const node: Extract<_Node, { kind: "ref" }> = { kind: "ref", ref: value, target: undefined };
    this.#pending.push(node);
    return node;
  }

  #resolve(ref: string, path: string): unknown {
    let target: unknown = this.#root;
    const tokens = ref === "#" ? [] : ref.slice(2).split("/");
    for (const raw of tokens) {
      const token = raw.replaceAll("~1", "/").replaceAll("~0", "~");
      if (_isObject(target) && _has(target, token)) {
        target = target[token];
      } else if (Array.isArray(target)) {
        const index = /^(0|[1-9][0-9]*)$/.test(token) ? Number(token) : target.length;
        if (index >= target.length) {
          _fail(path, `cannot resolve "$ref" ${_show(ref)}: index ${_show(token)} is out of range`);
        }
        target = target[index];
      } else {
        _fail(path, `cannot resolve "$ref" ${_show(ref)}: ${_show(token)} not found`);
      }
    }
    return target;
  }

  #alternatives(value: unknown, path: string, keyword: string): _Node[] {
    if (!Array.isArray(value)) {
      _fail(path, `"${keyword}" must be an array of schemas, got ${_show(value)}`);
    }
    if (value.length === 0) _fail(path, `"${keyword}" must not be empty`);
    return value.map((alt, i) => this.#node(alt, `${path}/${i}`));
  }

  #allOf(schema: _Json, path: string): _Node {
    return { kind: "allOf", children: this.#alternatives(schema.allOf, `${path}/allOf`, "allOf") };
  }

  #object(schema: _Json, path: string): _Node {
    const required = new Set<string>();
    if (Array.isArray(schema.required)) {
      for (const name of schema.required) if (typeof name === "string") required.add(name);
    }
    const properties: _Property[] = [];
    if (_has(schema, "properties")) {
      const props = schema.properties;
      if (!_isObject(props)) _fail(path, `"properties" must be an object, got ${_show(props)}`);
      for (const [name, prop] of Object.entries(props)) {
        const schema = this.#node(prop, `${path}/properties/${_pointerToken(name)}`);
        properties.push({ name, schema, required: required.has(name) });
      }
    }
    let additional: _Node | null = null;
    if (_has(schema, "additionalProperties")) {
      const value = schema.additionalProperties;
      if (value === true) additional = { kind: "any" };
      else if (_isObject(value)) additional = this.#node(value, `${path}/additionalProperties`);
      else if (value !== false) {
        _fail(path, `"additionalProperties" must be a boolean or a schema, got ${_show(value)}`);
      }
    } else if (!_has(schema, "properties")) {
      // {"type": "object"} on its own accepts any object
      additional = { kind: "any" };
    }
    return { kind: "object", properties, additional };
  }

  #array(schema: _Json, path: string): _Node {
    const hasItems = _has(schema, "items");
    const hasPrefix = _has(schema, "prefixItems");
    if (hasItems || hasPrefix) {
      // "items" wins when both are present (upstream), unless it is false: that closes the tuple
      const key = hasItems && !(schema.items === false && hasPrefix) ? "items" : "prefixItems";
      const items = schema[key];
      if (Array.isArray(items)) {
        return {
          kind: "tuple",
          items: items.map((item, i) => this.#node(item, `${path}/${key}/${i}`)),
        };
      }
      if (items === false) return { kind: "tuple", items: [] };
      const node = this.#node(items, `${path}/${key}`);
      return this.#bounded(schema, path, node);
    }
    return this.#bounded(schema, path, { kind: "any" });
  }

  #bounded(schema: _Json, path: string, items: _Node): _Node {
    const minItems = _count(schema, "minItems", path) ?? 0;
    const maxItems = _count(schema, "maxItems", path);
    if (maxItems !== null && minItems > maxItems) {
      _fail(path, `"minItems" ${minItems} is greater than "maxItems" ${maxItems}`);
    }
    return { kind: "array", items, minItems, maxItems };
  }

  #string(schema: _Json, path: string): _Node {
    let pattern: string | null = null;
    if (_has(schema, "pattern")) {
      if (typeof schema.pattern !== "string") {
        _fail(path, `"pattern" must be a string, got ${_show(schema.pattern)}`);
      }
      pattern = schema.pattern;
    }
    const format = _format(schema, path);
    const minLength = _count(schema, "minLength", path) ?? 0;
    const maxLength = _count(schema, "maxLength", path);
    if (maxLength !== null && minLength > maxLength) {
      _fail(path, `"minLength" ${minLength} is greater than "maxLength" ${maxLength}`);
    }
    return { kind: "string", path, pattern, format, minLength, maxLength };
  }

  #integer(schema: _Json, path: string): _Node {
    // bounds are inclusive; a fractional bound is rounded inwards, exclusive ones are folded in
    let minimum: number | null = null;
    let maximum: number | null = null;
    if (_has(schema, "minimum")) minimum = _bound(schema, "minimum", path, Math.ceil);
    else if (_has(schema, "exclusiveMinimum")) {
      minimum = _bound(schema, "exclusiveMinimum", path, Math.floor) + 1;
    }
    if (_has(schema, "maximum")) maximum = _bound(schema, "maximum", path, Math.floor);
    else if (_has(schema, "exclusiveMaximum")) {
      maximum = _bound(schema, "exclusiveMaximum", path, Math.ceil) - 1;
    }
    _checkSafe(minimum, _has(schema, "minimum") ? "minimum" : "exclusiveMinimum", path);
    _checkSafe(maximum, _has(schema, "maximum") ? "maximum" : "exclusiveMaximum", path);
    if (minimum !== null && maximum !== null && minimum > maximum) {
      _fail(
        path,
        `no integer lies between the lower bound ${minimum} and the upper bound ${maximum}`,
      );
    }
    return { kind: "integer", minimum, maximum };
  }
}

function _count(schema: _Json, key: string, path: string): number | null {
  if (!_has(schema, key)) return null;
  const value = schema[key];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    _fail(path, `"${key}" must be a non-negative integer, got ${_show(value)}`);
  }
  return value;
}

function _bound(schema: _Json, key: string, path: string, round: (x: number) => number): number {
  const value = schema[key];
  if (typeof value !== "number" || !Number.isFinite(value)) {
    _fail(path, `"${key}" must be a number, got ${_show(value)}`);
  }
  return round(value);
}

function _checkSafe(bound: number | null, key: string, path: string): void {
  if (bound !== null && !Number.isSafeInteger(bound)) {
    _fail(path, `"${key}" ${_show(bound)} is out of the supported integer range ±(2^53 - 1)`);
  }
}

function _format(schema: _Json, path: string): _Format {
  if (!_has(schema, "format")) return "none";
  const format = schema.format;
  if (typeof format !== "string") _fail(path, `"format" must be a string, got ${_show(format)}`);
  if (format === "date" || format === "time" || format === "date-time") return format;
  if (/^uuid[1-5]?$/.test(format)) return "uuid";
  return "none";
}

// ---------------------------------------------------------------------------------------------
// Converter (common/json-schema-to-grammar.cpp).

const _SPACE_RULE = `| " " | "\\n"{1,2} [ \\t]{0,20}`;

interface _BuiltinRule {
  content: string;
  deps: string[];
}

const _PRIMITIVE_RULES: Record<string, _BuiltinRule> = {
  "boolean": { content: `("true" | "false")`, deps: [] },
  "decimal-part": { content: `[0-9]{1,16}`, deps: [] },
  "integral-part": { content: `[0] | [1-9] [0-9]{0,15}`, deps: [] },
  "number": {
    content: `("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?`,
    deps: ["integral-part", "decimal-part"],
  },
  "integer": { content: `("-"? integral-part)`, deps: ["integral-part"] },
  "value": {
    content: `object | array | string | number | boolean | null`,
    deps: ["object", "array", "string", "number", "boolean", "null"],
  },
  "object": {
    content: `"{" space ( string ":" space value ("," space string ":" space value)* )? space "}"`,
    deps: ["string", "value"],
  },
  "array": { content: `"[" space ( value ("," space value)* )? space "]"`, deps: ["value"] },
  "uuid": {
    content: `"\\"" [0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} ` +
      `"-" [0-9a-fA-F]{12} "\\""`,
    deps: [],
  },
  "char": {
    content: `[^"\\\\\\x7F\\x00-\\x1F] | [\\\\] (["\\\\bfnrt] | "u" [0-9a-fA-F]{4})`,
    deps: [],
  },
  "string": { content: `"\\"" char* "\\""`, deps: ["char"] },
  "null": { content: `"null"`, deps: [] },
};

const _STRING_FORMAT_RULES: Record<string, _BuiltinRule> = {
  "date": {
    content: `[0-9]{4} "-" ( "0" [1-9] | "1" [0-2] ) "-" ( "0" [1-9] | [1-2] [0-9] | "3" [0-1] )`,
    deps: [],
  },
  "time": {
    content: `([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{3} )? ` +
      `( "Z" | ( "+" | "-" ) ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] )`,
    deps: [],
  },
  "date-time": { content: `date "T" time`, deps: ["date", "time"] },
  "date-string": { content: `"\\"" date "\\""`, deps: ["date"] },
  "time-string": { content: `"\\"" time "\\""`, deps: ["time"] },
  "date-time-string": { content: `"\\"" date-time "\\""`, deps: ["date-time"] },
};

const _RESERVED_NAMES = new Set([
  "root",
  ...Object.keys(_PRIMITIVE_RULES),
  ...Object.keys(_STRING_FORMAT_RULES),
]);

const _INVALID_RULE_CHARS = /[^a-zA-Z0-9-]+/g;
const _NON_LITERAL = new Set([..."|.()[]{}*+?^$"]);
const _ESCAPED_IN_REGEXPS_BUT_NOT_IN_LITERALS = new Set([..."^$.[](){}|*+?"]);
const _MAX_PATTERN_DEPTH = 100;
const _INT_MAX = 2 ** 31 - 1;
/** Keys of additional properties start with none of these (see the module notes). */
const _NOT_KEY_START = `"\\\\\\x7F\\x00-\\x1F`;
/** Marks the additional-properties entry among the optional properties. */
const _ADDITIONAL = Symbol("additional");

/** A string quoted as a GBNF literal. */
function _formatLiteral(literal: string): string {
  const escapes: Record<string, string> = { "\r": "\\r", "\n": "\\n", '"': '\\"', "\\": "\\\\" };
  return `"${literal.replace(/[\r\n"\\]/g, (c) => escapes[c] ?? c)}"`;
}

function _constantRule(value: unknown): string {
  return _formatLiteral(JSON.stringify(value));
}

/** One character inside a GBNF character class. */
function _classChar(c: string): string {
  if (c === "\\" || c === "]" || c === "-") return `\\${c}`;
  if (c === "^") return "\\x5E";
  return c;
}

function _compareCodePoints(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0) ?? 0);
  const y = Array.from(b, (c) => c.codePointAt(0) ?? 0);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
  }
  return x.length - y.length;
}

/** `item{min,max}`, with a separator between items when given (upstream build_repetition). */
function _repetition(item: string, min: number, max: number, separator = ""): string {
  const hasMax = max !== Infinity;
  if (max === 0) return "";
  if (min === 0 && max === 1) return `${item}?`;
  if (separator === "") {
    if (min === 1 && !hasMax) return `${item}+`;
    if (min === 0 && !hasMax) return `${item}*`;
    return `${item}{${min},${hasMax ? max : ""}}`;
  }
  const result = `${item} ` +
    _repetition(`(${separator} ${item})`, min === 0 ? 0 : min - 1, hasMax ? max - 1 : max);
  return min === 0 ? `(${result})?` : result;
}

const _chr = (c: string, delta: number) => String.fromCharCode(c.charCodeAt(0) + delta);

/** Integers in [min, max], either side open when null (upstream build_min_max_int). */
function _minMaxInt(
  minValue: number | null,
  maxValue: number | null,
  out: string[],
  decimalsLeft = 16,
  topLevel = true,
): void {
  const digitRange = (from: string, to: string) => {
    out.push("[", from === to ? from : `${from}-${to}`, "]");
  };
  const moreDigits = (minDigits: number, maxDigits: number) =>
    _moreDigits(out, minDigits, maxDigits);
  const uniformRange = (from: string, to: string): void => {
    let i = 0;
    while (i < from.length && i < to.length && from[i] === to[i]) i++;
    if (i > 0) out.push(`"${from.slice(0, i)}"`);
    if (i < from.length && i < to.length) {
      if (i > 0) out.push(" ");
      const f = from[i] as string;
      const t = to[i] as string;
      const subLen = from.length - i - 1;
      if (subLen > 0) {
        const fromSub = from.slice(i + 1);
        const toSub = to.slice(i + 1);
        const subZeros = "0".repeat(subLen);
        const subNines = "9".repeat(subLen);
        let toReached = false;
        out.push("(");
        if (fromSub === subZeros) {
          digitRange(f, _chr(t, -1));
          out.push(" ");
          moreDigits(subLen, subLen);
        } else {
          out.push(`[${f}] `, "(");
          uniformRange(fromSub, subNines);
          out.push(")");
          if (f < _chr(t, -1)) {
            out.push(" | ");
            if (toSub === subNines) {
              digitRange(_chr(f, 1), t);
              toReached = true;
            } else {
              digitRange(_chr(f, 1), _chr(t, -1));
            }
            out.push(" ");
            moreDigits(subLen, subLen);
          }
        }
        if (!toReached) {
          out.push(" | ");
          digitRange(t, t);
          out.push(" ");
          uniformRange(subZeros, toSub);
        }
        out.push(")");
      } else {
        out.push(`[${f}-${t}]`);
      }
    }
  };

  if (minValue !== null && maxValue !== null) {
    if (minValue < 0 && maxValue < 0) {
      out.push(`"-" (`);
      _minMaxInt(-maxValue, -minValue, out, decimalsLeft, true);
      out.push(")");
      return;
    }
    if (minValue < 0) {
      out.push(`"-" (`);
      _minMaxInt(0, -minValue, out, decimalsLeft, true);
      out.push(") | ");
      minValue = 0;
    }
    let minS = String(minValue);
    const maxS = String(maxValue);
    for (let digits = minS.length; digits < maxS.length; digits++) {
      uniformRange(minS, "9".repeat(digits));
      minS = "1" + "0".repeat(digits);
      out.push(" | ");
    }
    uniformRange(minS, maxS);
    return;
  }

  const lessDecimals = Math.max(decimalsLeft - 1, 1);

  if (minValue !== null) {
    if (minValue < 0) {
      out.push(`"-" (`);
      _minMaxInt(null, -minValue, out, decimalsLeft, false);
      out.push(") | [0] | [1-9] ");
      moreDigits(0, decimalsLeft - 1);
    } else {
      out.push(_atLeast(String(minValue), decimalsLeft, topLevel));
    }
    return;
  }

  if (maxValue !== null) {
    if (maxValue >= 0) {
      if (topLevel) {
        out.push(`"-" [1-9] `);
        moreDigits(0, lessDecimals);
        out.push(" | ");
      }
      _minMaxInt(0, maxValue, out, decimalsLeft, true);
    } else {
      // upstream recurses with topLevel false here, which lets "-05" through
      out.push(`"-" (`, _atLeast(String(-maxValue), decimalsLeft, true), ")");
    }
    return;
  }

  throw new RangeError("Cannot build an integer range: neither bound is set");
}

/**
 * Digit strings whose value is at least `min`, at most `decimalsLeft` digits, without a leading
 * zero at the top level: upstream's open-ended branch, text for text where upstream is right.
 * Fixed: `min` stays a string, so that the zeros of 100 or 105 count (upstream accepts 10 for
 * `minimum: 100`); below the top level a leading 0 is allowed (upstream rejects 1015 for
 * `minimum: 115`); alternatives that need more digits than are left are dropped (upstream writes
 * `[0-9]{16,15}`, which llama.cpp's grammar loader chokes on).
 */
function _atLeast(min: string, decimalsLeft: number, topLevel: boolean): string {
  const lessDecimals = Math.max(decimalsLeft - 1, 1);
  const rangeStart = topLevel ? "1" : "0";
  const c = min[0] as string;
  const range = (from: string, to: string) => (from === to ? `[${from}]` : `[${from}-${to}]`);
  const digits = (minDigits: number, maxDigits: number) => {
    const out: string[] = [];
    _moreDigits(out, minDigits, maxDigits);
    return out.join("");
  };
  const alternatives: string[] = [];
  if (min.length === 1) {
    if (c === "0") {
      return topLevel ? `[0] | [1-9] ${digits(0, lessDecimals)}` : digits(1, decimalsLeft);
    }
    if (c > rangeStart) {
      alternatives.push(`${range(rangeStart, _chr(c, -1))} ${digits(1, lessDecimals)}`);
    }
    alternatives.push(`${range(c, "9")} ${digits(0, lessDecimals)}`);
    return alternatives.join(" | ");
  }
  const len = min.length;
  if (c > rangeStart && len <= lessDecimals) {
    alternatives.push(`${range(rangeStart, _chr(c, -1))} ${digits(len, lessDecimals)}`);
  }
  if (len - 1 <= lessDecimals) {
    alternatives.push(`${range(c, c)} (${_atLeast(min.slice(1), lessDecimals, false)})`);
    if (c < "9") alternatives.push(`${range(_chr(c, 1), "9")} ${digits(len - 1, lessDecimals)}`);
  }
  return alternatives.join(" | ");
}

function _moreDigits(out: string[], minDigits: number, maxDigits: number): void {
  out.push("[0-9]");
  if (minDigits === maxDigits && minDigits === 1) return;
  out.push("{", String(minDigits));
  if (maxDigits !== minDigits) {
    out.push(",");
    if (maxDigits !== _INT_MAX) out.push(String(maxDigits));
  }
  out.push("}");
}

/** Length of a GBNF-compatible escape at `pos` (`\x41`, `\n`, `\-`, ...), 0 when none. */
function _escapeLength(chars: string[], pos: number): number {
  if (pos + 1 >= chars.length || chars[pos] !== "\\") return 0;
  let hex = 0;
  switch (chars[pos + 1]) {
    case "x":
      hex = 2;
      break;
    case "u":
      hex = 4;
      break;
    case "U":
      hex = 8;
      break;
    // keep in sync with parse_char() in src/llama-grammar.cpp
    case "t":
    case "r":
    case "n":
    case "\\":
    case '"':
    case "[":
    case "]":
    case "-":
      return 2;
    default:
      return 0;
  }
  if (pos + 2 + hex > chars.length) return 0;
  for (let i = pos + 2; i < pos + 2 + hex; i++) {
    if (!/^[0-9a-fA-F]$/.test(chars[i] ?? "")) return 0;
  }
  return 2 + hex;
}

/** A valid regex with no grammar equivalent: the converter falls back to any string. */
class _UnsupportedPattern extends Error {}
/** Not a valid regex: an error. */
class _InvalidPattern extends Error {}

type _Item = [text: string, isLiteral: boolean];

class _Converter {
  readonly #dotall: boolean;
  readonly #onWarning: ((message: string) => void) | undefined;
  #rules = new Map<string, string>([["space", _SPACE_RULE]]);
  readonly #refsBeingResolved = new Set<string>();

  constructor(dotall: boolean, onWarning: ((message: string) => void) | undefined) {
    this.#dotall = dotall;
    this.#onWarning = onWarning;
  }

  format(): string {
    const names = [...this.#rules.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return names.map((name) => `${name} ::= ${this.#rules.get(name)}\n`).join("");
  }

  /** Adds rule `name` (upstream _add_rule): a taken name with another body gets a number. */
  addRule(name: string, rule: string): string {
    return this.#addRule(name, rule);
  }

  #addRule(name: string, rule: string): string {
    const escName = name.replace(_INVALID_RULE_CHARS, "-");
    if (!this.#rules.has(escName) || this.#rules.get(escName) === rule) {
      this.#rules.set(escName, rule);
      return escName;
    }
    let i = 0;
    while (this.#rules.has(escName + i) && this.#rules.get(escName + i) !== rule) i++;
    const key = escName + i;
    this.#rules.set(key, rule);
    return key;
  }

  #addPrimitive(name: string, rule: _BuiltinRule): string {
    const n = this.#addRule(name, rule.content);
    for (const dep of rule.deps) {
      const depRule = _PRIMITIVE_RULES[dep] ?? _STRING_FORMAT_RULES[dep];
      if (depRule === undefined) throw new Error(`Rule ${dep} not known`);
      if (!this.#rules.has(dep)) this.#addPrimitive(dep, depRule);
    }
    return n;
  }

  #primitive(name: string): _BuiltinRule {
    const rule = _PRIMITIVE_RULES[name] ?? _STRING_FORMAT_RULES[name];
    if (rule === undefined) throw new Error(`Rule ${name} not known`);
    return rule;
  }

  #visitPrimitive(ruleName: string, type: string): string {
    return this.#addPrimitive(ruleName === "root" ? "root" : type, this.#primitive(type));
  }

  visit(schema: _Node, name: string): string {
    const ruleName = _RESERVED_NAMES.has(name) ? `${name}-` : name === "" ? "root" : name;
    const subName = name === "" ? "" : `${name}-`;

    switch (schema.kind) {
      case "ref":
        return this.#addRule(ruleName, this.#resolveRef(schema));
      case "anyOf":
        return this.#addRule(ruleName, this.#union(name, schema.children));
      case "allOf":
        return this.#visitAllOf(schema.children, name, ruleName);
      case "const":
        return this.#addRule(ruleName, _constantRule(schema.value));
      case "enum":
        return this.#addRule(ruleName, `(${schema.values.map(_constantRule).join(" | ")})`);
      case "object": {
        if (schema.properties.length === 0 && schema.additional?.kind === "any") {
          return this.#addRule(ruleName, this.#addPrimitive("object", this.#primitive("object")));
        }
        const required = new Set(schema.properties.filter((p) => p.required).map((p) => p.name));
        const properties = schema.properties.map((p): [string, _Node] => [p.name, p.schema]);
        return this.#addRule(
          ruleName,
          this.#objectRule(properties, required, name, schema.additional),
        );
      }
      case "tuple": {
        let rule = `"[" space `;
        schema.items.forEach((item, i) => {
          if (i > 0) rule += ` "," space `;
          rule += this.visit(item, `${subName}tuple-${i}`);
        });
        rule += ` space "]"`;
        return this.#addRule(ruleName, rule);
      }
      case "array": {
        if (schema.items.kind === "any" && schema.minItems === 0 && schema.maxItems === null) {
          return this.#visitPrimitive(ruleName, "array");
        }
        const itemRule = this.visit(schema.items, `${subName}item`);
        const rep = _repetition(
          itemRule,
          schema.minItems,
          schema.maxItems ?? Infinity,
          `"," space`,
        );
        return this.#addRule(ruleName, `"[" space ${rep} space "]"`);
      }
      case "string": {
        if (schema.pattern !== null) {
          return this.#visitPattern(schema.pattern, ruleName, schema.path);
        }
        if (schema.format === "uuid") return this.#visitPrimitive(ruleName, "uuid");
        if (schema.format !== "none") {
          const primName = `${schema.format}-string`;
          return this.#addRule(ruleName, this.#addPrimitive(primName, this.#primitive(primName)));
        }
        if (schema.minLength > 0 || schema.maxLength !== null) {
          const charRule = this.#addPrimitive("char", this.#primitive("char"));
          const rep = _repetition(charRule, schema.minLength, schema.maxLength ?? Infinity);
          return this.#addRule(ruleName, `"\\"" ${rep} "\\""`);
        }
        return this.#visitPrimitive(ruleName, "string");
      }
      case "integer": {
        if (schema.minimum === null && schema.maximum === null) {
          return this.#visitPrimitive(ruleName, "integer");
        }
        const out: string[] = ["("];
        _minMaxInt(schema.minimum, schema.maximum, out);
        out.push(")");
        return this.#addRule(ruleName, out.join(""));
      }
      case "number":
      case "boolean":
      case "null":
        return this.#visitPrimitive(ruleName, schema.kind);
      case "any":
        return this.#addRule(ruleName, this.#addPrimitive("value", this.#primitive("value")));
    }
  }

  #union(name: string, alternatives: _Node[]): string {
    return alternatives
      .map((alt, i) => this.visit(alt, `${name}${name === "" ? "alternative-" : "-"}${i}`))
      .join(" | ");
  }

  #resolveRef(schema: Extract<_Node, { kind: "ref" }>): string {
    const hash = schema.ref.indexOf("#");
    const fragment = hash >= 0 ? schema.ref.slice(hash + 1) : schema.ref;
    let refName = "ref" + fragment.replace(_INVALID_RULE_CHARS, "-");
    if (!this.#rules.has(refName) && !this.#refsBeingResolved.has(schema.ref)) {
      if (schema.target === undefined) {
        throw new TypeError(`Cannot convert JSON schema: unresolved "$ref" ${_show(schema.ref)}`);
      }
      this.#refsBeingResolved.add(schema.ref);
      refName = this.visit(schema.target, refName);
      this.#refsBeingResolved.delete(schema.ref);
    }
    return refName;
  }

  #visitAllOf(children: _Node[], name: string, ruleName: string): string {
    const required = new Set<string>();
    const properties: [string, _Node][] = [];
    const enumValues = new Map<string, number>();
    const addComponent = (comp: _Node, isRequired: boolean): void => {
      if (comp.kind === "ref") {
        if (comp.target !== undefined) addComponent(comp.target, isRequired);
      } else if (comp.kind === "object") {
        for (const prop of comp.properties) {
          properties.push([prop.name, prop.schema]);
          if (isRequired) required.add(prop.name);
        }
      } else if (comp.kind === "enum") {
        for (const value of comp.values) {
          const rule = _constantRule(value);
          enumValues.set(rule, (enumValues.get(rule) ?? 0) + 1);
        }
      }
    };
    for (const child of children) {
      if (child.kind === "anyOf") {
        for (const alt of child.children) addComponent(alt, false);
      } else {
        addComponent(child, true);
      }
    }
    const intersection = [...enumValues]
      .filter(([, count]) => count === children.length)
      .map(([rule]) => rule)
      .sort(_compareCodePoints);
    if (intersection.length > 0) {
      return this.#addRule(ruleName, `(${intersection.join(" | ")})`);
    }
    return this.#addRule(ruleName, this.#objectRule(properties, required, name, null));
  }

  #objectRule(
    properties: [string, _Node][],
    required: Set<string>,
    name: string,
    additional: _Node | null,
  ): string {
    const prefix = name === "" ? "" : `${name}-`;
    const requiredProps: string[] = [];
    const optionalProps: (string | typeof _ADDITIONAL)[] = [];
    const kvRuleNames = new Map<string | typeof _ADDITIONAL, string>();
    const propNames: string[] = [];
    for (const [propName, propSchema] of properties) {
      // "" at the top level would otherwise name the property's rule "root"
      const propRuleName = this.visit(propSchema, prefix + propName || "-");
      kvRuleNames.set(
        propName,
        this.#addRule(
          `${prefix}${propName}-kv`,
          `${_formatLiteral(JSON.stringify(propName))} space ":" space ${propRuleName}`,
        ),
      );
      if (required.has(propName)) requiredProps.push(propName);
      else optionalProps.push(propName);
      propNames.push(propName);
    }
    if (additional !== null) {
      const subName = `${prefix}additional`;
      const valueRule = additional.kind !== "any"
        ? this.visit(additional, `${subName}-value`)
        : this.#addPrimitive("value", this.#primitive("value"));
      const keyRule = propNames.length === 0
        ? this.#addPrimitive("string", this.#primitive("string"))
        : this.#addRule(`${subName}-k`, this.#notStrings(propNames));
      kvRuleNames.set(
        _ADDITIONAL,
        this.#addRule(`${subName}-kv`, `${keyRule} ":" space ${valueRule}`),
      );
      optionalProps.push(_ADDITIONAL);
    }

    if (requiredProps.length === 0 && optionalProps.length === 0) return `"{" space "}"`;

    let rule = `"{" space `;
    requiredProps.forEach((prop, i) => {
      if (i > 0) rule += ` "," space `;
      rule += kvRuleNames.get(prop);
    });

    if (optionalProps.length > 0) {
      rule += " (";
      if (requiredProps.length > 0) rule += ` "," space ( `;
      // Upstream builds the `-rest` rules recursively, once per alternative (depth and work
      // grow with the number of optional properties); the same rules, in the same order, are
      // built here from the last one back, once.
      const keys = optionalProps;
      const kvName = (k: string | typeof _ADDITIONAL) => kvRuleNames.get(k) as string;
      const restNames: string[] = [];
      // restNames[j] holds keys[j..] after a key; upstream names it after keys[j - 1].
      for (let j = keys.length - 1; j >= 1; j--) {
        const k = keys[j]!;
        const before = keys[j - 1]!;
        let body = `( "," space ${kvName(k)} )${k === _ADDITIONAL ? "*" : "?"}`;
        if (j + 1 < keys.length) body += " " + restNames[j + 1];
        restNames[j] = this.#addRule(
          `${prefix}${before === _ADDITIONAL ? "*" : before}-rest`,
          body,
        );
      }
      keys.forEach((k, i) => {
        if (i > 0) rule += " | ";
        const isAdditional = k === _ADDITIONAL;
        rule += kvName(k) + (isAdditional ? ` ( "," space ${kvName(k)} )*` : "");
        if (i + 1 < keys.length) rule += " " + restNames[i + 1];
      });
      if (requiredProps.length > 0) rule += " )";
      rule += " )?";
    }

    rule += ` space "}"`;
    return rule;
  }

  /**
   * A JSON string that is none of `strings`, e.g. for ["a"]:
   * `["] ( [a] char+ | [^"\\\x7F\x00-\x1Fa] char* )? ["]`.
   */
  #notStrings(strings: string[]): string {
    interface TrieNode {
      children: Map<string, TrieNode>;
      terminal: boolean;
    }
    const root: TrieNode = { children: new Map(), terminal: false };
    for (const s of strings) {
      let node = root;
      // match the key as it appears in the JSON text
      for (const c of JSON.stringify(s).slice(1, -1)) {
        let child = node.children.get(c);
        if (child === undefined) {
          child = { children: new Map(), terminal: false };
          node.children.set(c, child);
        }
        node = child;
      }
      node.terminal = true;
    }
    const charRule = this.#addPrimitive("char", this.#primitive("char"));
    const out: string[] = [`["] ( `];
    const visit = (node: TrieNode): void => {
      let rejects = "";
      const entries = [...node.children].sort(([a], [b]) => _compareCodePoints(a, b));
      entries.forEach(([c, child], i) => {
        const cls = _classChar(c);
        rejects += cls;
        if (i > 0) out.push(" | ");
        out.push(`[${cls}]`);
        if (child.children.size > 0) {
          out.push(" (");
          visit(child);
          out.push(")");
        } else {
          out.push(` ${charRule}+`);
        }
      });
      if (entries.length > 0) out.push(` | [^${_NOT_KEY_START}${rejects}] ${charRule}*`);
    };
    visit(root);
    // only "" is excluded: upstream leaves the group empty, allowing nothing but ""
    if (root.children.size === 0) out.push(`${charRule}+`);
    out.push(" )");
    if (!root.terminal) out.push("?");
    out.push(` ["]`);
    return out.join("");
  }

  #visitPattern(pattern: string, name: string, path: string): string {
    const snapshot = new Map(this.#rules);
    try {
      return this.#patternToRule(pattern, name);
    } catch (error) {
      this.#rules = snapshot;
      if (error instanceof _UnsupportedPattern) {
        this.#onWarning?.(
          `JSON schema at ${path}: "pattern" ${_show(pattern)} is not supported ` +
            `(${error.message}), accepting any string`,
        );
        return this.#addRule(name, this.#addPrimitive("string", this.#primitive("string")));
      }
      if (error instanceof _InvalidPattern) {
        _fail(
          path,
          `"pattern" ${_show(pattern)} is not a valid regular expression: ${error.message}`,
        );
      }
      throw error;
    }
  }

  #patternToRule(pattern: string, name: string): string {
    if (pattern.length < 2 || !pattern.startsWith("^") || !pattern.endsWith("$")) {
      throw new _UnsupportedPattern("not anchored with '^' and '$'");
    }
    const chars = Array.from(pattern.slice(1, -1));
    const length = chars.length;
    const subRuleIds = new Map<string, string>();
    let i = 0;
    let parenDepth = 0;

    const toRule = ([text, isLiteral]: _Item) => (isLiteral ? `"${text}"` : text);
    const dot = () =>
      this.#addRule("dot", this.#dotall ? "[\\U00000000-\\U0010FFFF]" : "[^\\x0A\\x0D]");

    const transform = (): _Item => {
      const seq: _Item[] = [];

      // joins the sequence, merging consecutive literals together
      const joinSeq = (): _Item => {
        const ret: _Item[] = [];
        let literal = "";
        const flushLiteral = () => {
          if (literal !== "") {
            ret.push([literal, true]);
            literal = "";
          }
        };
        for (const item of seq) {
          if (item[1]) {
            literal += item[0];
          } else {
            flushLiteral();
            ret.push(item);
          }
        }
        flushLiteral();
        return [ret.map(toRule).join(" "), false];
      };

      while (i < length) {
        const c = chars[i] as string;
        if (c === ".") {
          seq.push([dot(), false]);
          i++;
        } else if (c === "(") {
          i++;
          if (i < length && chars[i] === "?") {
            if (i + 1 < length && chars[i + 1] === ":") {
              i += 2; // a non-capturing group is a group
            } else {
              throw new _UnsupportedPattern("unsupported group syntax"); // lookaround, named, flags
            }
          }
          parenDepth++;
          if (parenDepth > _MAX_PATTERN_DEPTH) {
            throw new _UnsupportedPattern("pattern nesting too deep");
          }
          seq.push([`(${toRule(transform())})`, false]);
        } else if (c === ")") {
          i++;
          if (parenDepth === 0) throw new _InvalidPattern("unbalanced parentheses");
          parenDepth--;
          return joinSeq();
        } else if (c === "^" || c === "$") {
          throw new _UnsupportedPattern("anchor inside the pattern");
        } else if (c === "[") {
          let squareBrackets = c;
          i++;
          while (i < length && chars[i] !== "]") {
            if (chars[i] === "\\") {
              const n = _escapeLength(chars, i);
              if (n === 0) {
                throw new _UnsupportedPattern(
                  `unsupported escape in character class: ${chars.slice(i, i + 2).join("")}`,
                );
              }
              squareBrackets += chars.slice(i, i + n).join("");
              i += n;
            } else {
              squareBrackets += chars[i];
              i++;
            }
          }
          if (i >= length) throw new _InvalidPattern("unterminated character class");
          squareBrackets += "]";
          i++;
          seq.push([squareBrackets, false]);
        } else if (c === "|") {
          seq.push(["|", false]);
          i++;
        } else if (c === "*" || c === "+" || c === "?") {
          const last = seq.at(-1);
          if (last === undefined) throw new _InvalidPattern("nothing to repeat");
          seq[seq.length - 1] = [toRule(last) + c, false];
          i++;
        } else if (c === "{") {
          let curly = c;
          i++;
          while (i < length && chars[i] !== "}") {
            curly += chars[i];
            i++;
          }
          if (i >= length) throw new _UnsupportedPattern("unterminated curly brackets");
          curly += "}";
          i++;
          const nums = curly.slice(1, -1).split(",");
          if (nums.length !== 1 && nums.length !== 2) {
            throw new _UnsupportedPattern("wrong number of values in curly brackets");
          }
          const toInt = (s: string): number => {
            const n = Number.parseInt(s, 10);
            if (Number.isNaN(n) || n < -_INT_MAX - 1 || n > _INT_MAX) {
              throw new _UnsupportedPattern("invalid number in curly brackets");
            }
            return n;
          };
          let minTimes = 0;
          let maxTimes = Infinity;
          if (nums.length === 1) {
            minTimes = maxTimes = toInt(nums[0] as string);
          } else {
            if (nums[0] !== "") minTimes = toInt(nums[0] as string);
            if (nums[1] !== "") maxTimes = toInt(nums[1] as string);
          }
          const last = seq.at(-1);
          if (last === undefined) throw new _InvalidPattern("nothing to repeat");
          let [sub, subIsLiteral] = last;
          if (!subIsLiteral) {
            let id = subRuleIds.get(sub);
            if (id === undefined) {
              id = this.#addRule(`${name}-${subRuleIds.size + 1}`, sub);
              subRuleIds.set(sub, id);
            }
            sub = id;
          }
          seq[seq.length - 1] = [
            _repetition(subIsLiteral ? `"${sub}"` : sub, minTimes, maxTimes),
            false,
          ];
        } else {
          let literal = "";
          while (i < length) {
            const ch = chars[i] as string;
            if (ch === "\\") {
              if (i === length - 1) throw new _InvalidPattern("trailing backslash");
              const next = chars[i + 1] as string;
              if (_ESCAPED_IN_REGEXPS_BUT_NOT_IN_LITERALS.has(next)) {
                literal += next;
                i += 2;
              } else {
                const n = _escapeLength(chars, i);
                if (n === 0) throw new _UnsupportedPattern(`unsupported escape: \\${next}`);
                literal += chars.slice(i, i + n).join("");
                i += n;
              }
            } else if (ch === '"') {
              literal += '\\"';
              i++;
            } else if (
              !_NON_LITERAL.has(ch) &&
              (i === length - 1 || literal === "" || chars[i + 1] === "." ||
                !_NON_LITERAL.has(chars[i + 1] as string))
            ) {
              literal += ch;
              i++;
            } else {
              break;
            }
          }
          // nothing was consumed, e.g. a stray ']' or '}'
          if (literal === "") throw new _UnsupportedPattern(`unsupported character: ${c}`);
          seq.push([literal, true]);
        }
      }
      return joinSeq();
    };

    const rule = toRule(transform());
    if (parenDepth !== 0) throw new _InvalidPattern("unbalanced parentheses");
    return this.#addRule(name, `"\\"" (${rule}) "\\""`);
  }
}
