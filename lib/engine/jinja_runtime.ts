/**
 * The Jinja runtime chat templates run on: `@huggingface/jinja`'s interpreter, with what
 * llama.cpp's own Jinja engine (`common/jinja`, release v0.5.0) adds and real templates use:
 * `strftime_now` at a given time with every `strftime` field, Python string methods (`format`,
 * `rsplit`, `count`, `find`, `zfill`, ...), dict methods (`pop`, `setdefault`, `update`), list
 * methods (`append`, `pop`, `insert`, `extend`, `index`), the filters `string` (of any
 * value), `min`, `max`, `sum`, `unique`, `dictsort`, `indent`, `wordcount`, `select`/`reject`
 * and `selectattr`/`rejectattr` with any test, `join`/`map`/`sort` by attribute, `d`, `count`,
 * `trim(chars)`, `int(base=)`, Python's `capitalize`, string repetition, Python's `==` on lists,
 * booleans printed `True`/`False`, and the tests `float`, `test`, `in`, `eq`, `gt`, ... (usable
 * in `select`; `x is gt(1)` does not parse here). tests/jinja_reference_test.ts holds it to
 * llama.cpp's own test-jinja.cpp cases.
 *
 * `@huggingface/jinja` exports its interpreter but not its value classes, so they are taken from
 * values it makes itself (see {@linkcode R}).
 *
 * @module
 */
import { Environment, Interpreter, parse, tokenize } from "@huggingface/jinja";

// deno-lint-ignore no-explicit-any
type Value = any;
// deno-lint-ignore no-explicit-any
type Ctor = new (...args: any[]) => Value;

/** The runtime value classes, taken from values the library makes. */
const R = (() => {
  const env = new Environment();
  const of = (value: unknown): Ctor => {
    env.set(`v${env.variables.size}`, value);
    return env.lookupVariable(`v${env.variables.size - 1}`).constructor as Ctor;
  };
  return {
    String: of(""),
    Integer: of(1),
    Float: of(1.5),
    Boolean: of(true),
    Null: of(null),
    Undefined: of(undefined),
    Array: of([]),
    Object: of({}),
    Function: of(() => 0),
  };
})();

/** A JavaScript value as a runtime value (plain data only). */
export function toRuntime(value: unknown): Value {
  if (value instanceof Map) {
    return new R.Object(new Map([...value].map(([k, v]) => [k, toRuntime(v)])));
  }
  switch (typeof value) {
    case "number":
      return Number.isInteger(value) ? new R.Integer(value) : new R.Float(value);
    case "string":
      return new R.String(value);
    case "boolean":
      return new R.Boolean(value);
    case "undefined":
      return new R.Undefined();
    case "function":
      return new R.Function(value);
    case "object":
      if (value === null) return new R.Null();
      if (Array.isArray(value)) return new R.Array(value.map(toRuntime));
      return new R.Object(new Map(Object.entries(value).map(([k, v]) => [k, toRuntime(v)])));
  }
  throw new TypeError(`Cannot pass ${typeof value} to a chat template`);
}

/** A runtime value as plain JavaScript data. */
export function fromRuntime(value: Value): unknown {
  if (value === undefined || value === null) return undefined;
  switch (value.type) {
    case "ArrayValue":
    case "TupleValue":
      return (value.value as Value[]).map(fromRuntime);
    case "ObjectValue":
    case "NamespaceValue":
    case "KeywordArgumentsValue":
      return Object.fromEntries(
        [...(value.value as Map<string, Value>)].map(([k, v]) => [k, fromRuntime(v)]),
      );
    case "UndefinedValue":
      return undefined;
    case "NullValue":
      return null;
    default:
      return value.value;
  }
}

/** Python's `repr` of an item inside a printed list or dict (upstream value_to_string_repr). */
function pyRepr(value: Value): string {
  if (isText(value)) {
    const s = value.value as string;
    return s.includes("'") ? JSON.stringify(s) : `'${s}'`;
  }
  if (value?.type === "NullValue") return "None";
  return pyString(value);
}

// Lists and dicts print as Python does (`['a', 1]`, `{'k': True}`), as llama.cpp's engine does.
R.Array.prototype.toString = function (this: Value): string {
  return `[${(this.value as Value[]).map(pyRepr).join(", ")}]`;
};
R.Object.prototype.toString = function (this: Value): string {
  const entries = [...(this.value as Map<string, Value>)];
  return `{${entries.map(([k, v]) => `${pyRepr(new R.String(k))}: ${pyRepr(v)}`).join(", ")}}`;
};

// Booleans print as Python's (`True`, `False`), as in llama.cpp's engine.
R.Boolean.prototype.toString = function (this: Value): string {
  return this.value ? "True" : "False";
};

const fn = (body: (args: Value[]) => Value) => new R.Function((args: Value[]) => body(args));

function kwargsOf(args: Value[]): [Value[], Map<string, Value>] {
  const last = args.at(-1);
  if (last?.type === "KeywordArgumentsValue") return [args.slice(0, -1), last.value];
  return [args, new Map()];
}

const isText = (v: Value) => v?.type === "StringValue";
const isInt = (v: Value) => v?.type === "IntegerValue";

/** Python's `str()` of a runtime value (llama.cpp's `string` filter). */
function pyString(value: Value): string {
  switch (value?.type) {
    case "StringValue":
      return value.value;
    case "NullValue":
    case "UndefinedValue":
      return value.type === "NullValue" ? "None" : "";
    case "BooleanValue":
      return value.value ? "True" : "False";
    case "FloatValue": {
      const n = value.value as number;
      return Number.isInteger(n) ? n.toFixed(1) : String(n);
    }
    case "IntegerValue":
      return String(value.value);
    default:
      return value.toString();
  }
}

/** Python's `str.capitalize`: the first character upper case, the rest lower case. */
function pyCapitalize(s: string): string {
  return s.slice(0, 1).toUpperCase() + s.slice(1).toLowerCase();
}

/** Python's `str.format` with positional `{}`/`{0}` and named `{name}` fields. */
function pyFormat(template: string, args: Value[], kwargs: Map<string, Value>): string {
  let auto = 0;
  return template.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (match, field: string | undefined) => {
    if (match === "{{") return "{";
    if (match === "}}") return "}";
    const name = (field ?? "").split(":")[0]!.split("!")[0]!;
    const value = name === ""
      ? args[auto++]
      : /^\d+$/.test(name)
      ? args[Number(name)]
      : kwargs.get(name);
    if (value === undefined) throw new RangeError(`str.format: no value for field "{${field}}"`);
    return pyString(value);
  });
}

function strftime(date: Date, format: string): string {
  const days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  const months = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
  ];
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const start = new Date(date.getFullYear(), 0, 1);
  const dayOfYear = Math.floor((date.getTime() - start.getTime()) / 86400000) + 1;
  return format.replace(/%([%aAbBcdeHIjmMpSyYZz])/g, (_, f: string) => {
    switch (f) {
      case "%":
        return "%";
      case "a":
        return days[date.getDay()]!.slice(0, 3);
      case "A":
        return days[date.getDay()]!;
      case "b":
        return months[date.getMonth()]!.slice(0, 3);
      case "B":
        return months[date.getMonth()]!;
      case "c":
        return `${days[date.getDay()]!.slice(0, 3)} ${months[date.getMonth()]!.slice(0, 3)} ${
          String(date.getDate()).padStart(2, " ")
        } ${pad(date.getHours())}:${pad(date.getMinutes())}:${
          pad(date.getSeconds())
        } ${date.getFullYear()}`;
      case "d":
        return pad(date.getDate());
      case "e":
        return String(date.getDate()).padStart(2, " ");
      case "H":
        return pad(date.getHours());
      case "I":
        return pad(((date.getHours() + 11) % 12) + 1);
      case "j":
        return pad(dayOfYear, 3);
      case "m":
        return pad(date.getMonth() + 1);
      case "M":
        return pad(date.getMinutes());
      case "p":
        return date.getHours() < 12 ? "AM" : "PM";
      case "S":
        return pad(date.getSeconds());
      case "y":
        return pad(date.getFullYear() % 100);
      case "Y":
        return String(date.getFullYear());
      case "z": {
        const offset = -date.getTimezoneOffset();
        return `${offset >= 0 ? "+" : "-"}${pad(Math.floor(Math.abs(offset) / 60))}${
          pad(Math.abs(offset) % 60)
        }`;
      }
      default:
        return "";
    }
  });
}

function compare(a: Value, b: Value): number {
  const x = fromRuntime(a) as number | string;
  const y = fromRuntime(b) as number | string;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Methods `@huggingface/jinja` lacks, by value type. */
function extraMethod(object: Value, name: string): Value | undefined {
  if (isText(object)) {
    const s = object.value as string;
    switch (name) {
      case "format":
        return fn((args) => {
          const [pos, kw] = kwargsOf(args);
          return new R.String(pyFormat(s, pos, kw));
        });
      case "rsplit":
        return fn(([sep, max]) => {
          const limit = isInt(max) ? max.value : -1;
          if (!isText(sep)) {
            const parts = s.trim().split(/\s+/);
            return toRuntime(parts);
          }
          const parts = s.split(sep.value);
          if (limit < 0 || parts.length <= limit + 1) return toRuntime(parts);
          const head = parts.slice(0, parts.length - limit).join(sep.value);
          return toRuntime([head, ...parts.slice(parts.length - limit)]);
        });
      case "count":
        return fn(([sub]) =>
          new R.Integer(sub.value === "" ? s.length + 1 : s.split(sub.value).length - 1)
        );
      case "find":
        return fn(([sub]) => new R.Integer(s.indexOf(sub.value)));
      case "rfind":
        return fn(([sub]) => new R.Integer(s.lastIndexOf(sub.value)));
      case "index":
        return fn(([sub]) => {
          const at = s.indexOf(sub.value);
          if (at < 0) throw new RangeError("str.index: substring not found");
          return new R.Integer(at);
        });
      case "capitalize":
        return fn(() => new R.String(pyCapitalize(s)));
      case "zfill":
        return fn(([width]) => new R.String(s.padStart(width.value, "0")));
      case "isdigit":
        return fn(() => new R.Boolean(/^[0-9]+$/.test(s)));
      case "isalpha":
        return fn(() => new R.Boolean(/^\p{L}+$/u.test(s)));
      case "isspace":
        return fn(() => new R.Boolean(/^\s+$/.test(s)));
      case "islower":
        return fn(() => new R.Boolean(s === s.toLowerCase() && s !== s.toUpperCase()));
      case "isupper":
        return fn(() => new R.Boolean(s === s.toUpperCase() && s !== s.toLowerCase()));
      case "removeprefix":
        return fn(([p]) => new R.String(s.startsWith(p.value) ? s.slice(p.value.length) : s));
      case "removesuffix":
        return fn(([p]) =>
          new R.String(p.value !== "" && s.endsWith(p.value) ? s.slice(0, -p.value.length) : s)
        );
      case "join":
        return fn(([items]) => new R.String((items.value as Value[]).map(pyString).join(s)));
    }
    return undefined;
  }
  if (object?.type === "ObjectValue" || object?.type === "NamespaceValue") {
    const map = object.value as Map<string, Value>;
    switch (name) {
      case "pop":
        return fn(([key, fallback]) => {
          const value = map.get(key.value);
          if (value === undefined) {
            if (fallback !== undefined) return fallback;
            throw new RangeError(`dict.pop: no key "${key.value}"`);
          }
          map.delete(key.value);
          return value;
        });
      case "setdefault":
        return fn(([key, fallback]) => {
          if (!map.has(key.value)) map.set(key.value, fallback ?? new R.Null());
          return map.get(key.value);
        });
      case "update":
        return fn((args) => {
          const [pos, kw] = kwargsOf(args);
          for (const other of pos) {
            for (const [k, v] of other.value as Map<string, Value>) map.set(k, v);
          }
          for (const [k, v] of kw) map.set(k, v);
          return new R.Null();
        });
      case "copy":
        return fn(() => new R.Object(new Map(map)));
    }
    return undefined;
  }
  if (object?.type === "ArrayValue") {
    const items = object.value as Value[];
    switch (name) {
      case "append":
        return fn(([item]) => {
          items.push(item);
          return new R.Null();
        });
      case "extend":
        return fn(([more]) => {
          items.push(...(more.value as Value[]));
          return new R.Null();
        });
      case "insert":
        return fn(([at, item]) => {
          items.splice(at.value, 0, item);
          return new R.Null();
        });
      case "pop":
        return fn(([at]) => {
          if (items.length === 0) throw new RangeError("list.pop: empty list");
          const index = isInt(at)
            ? (at.value < 0 ? items.length + at.value : at.value)
            : items.length - 1;
          return items.splice(index, 1)[0];
        });
      case "index":
        return fn(([item]) => {
          const at = items.findIndex((x) =>
            JSON.stringify(fromRuntime(x)) === JSON.stringify(fromRuntime(item))
          );
          if (at < 0) throw new RangeError("list.index: item not in list");
          return new R.Integer(at);
        });
      case "count":
        return fn(([item]) =>
          new R.Integer(
            items.filter((x) =>
              JSON.stringify(fromRuntime(x)) === JSON.stringify(fromRuntime(item))
            ).length,
          )
        );
      case "copy":
        return fn(() => new R.Array([...items]));
    }
  }
  return undefined;
}

/** Tests `@huggingface/jinja` lacks or answers otherwise than llama.cpp's engine. */
const EXTRA_TESTS: Record<string, (operand: Value, ...args: Value[]) => boolean> = {
  float: (v) => v?.type === "FloatValue",
  // llama.cpp: an undefined value is an (empty) sequence
  sequence: (v) => ["ArrayValue", "ObjectValue", "StringValue", "UndefinedValue"].includes(v?.type),
  iterable: (v) => ["ArrayValue", "ObjectValue", "StringValue", "UndefinedValue"].includes(v?.type),
  in: (v, container) => containsValue(container, v),
  eq: (v, other) => equalValues(v, other),
  equalto: (v, other) => equalValues(v, other),
  ne: (v, other) => !equalValues(v, other),
  ge: (v, other) => compare(v, other) >= 0,
  gt: (v, other) => compare(v, other) > 0,
  greaterthan: (v, other) => compare(v, other) > 0,
  le: (v, other) => compare(v, other) <= 0,
  lt: (v, other) => compare(v, other) < 0,
  lessthan: (v, other) => compare(v, other) < 0,
  divisibleby: (v, n) => Number(v.value) % Number(n.value) === 0,
};

/** The test called `name`, with llama.cpp's additions. */
function testNamed(name: string): ((operand: Value, ...args: Value[]) => boolean) | undefined {
  if (name === "test") return (v) => isText(v) && testNamed(v.value) !== undefined;
  return EXTRA_TESTS[name] ?? (Environment as unknown as { TESTS: Map<string, Value> }).TESTS
    .get(name);
}

/** Python's `==` on runtime values (1 == 1.0 == True). */
function equalValues(a: Value, b: Value): boolean {
  const scalar = (v: Value) =>
    v?.type === "BooleanValue" ? Number(v.value) : v?.type === "NullValue" ? null : v?.value;
  if (a?.type === "ArrayValue" && b?.type === "ArrayValue") {
    return a.value.length === b.value.length &&
      (a.value as Value[]).every((x, i) => equalValues(x, b.value[i]));
  }
  if (a?.type === "ObjectValue" || b?.type === "ObjectValue") {
    return JSON.stringify(fromRuntime(a)) === JSON.stringify(fromRuntime(b));
  }
  return scalar(a) === scalar(b);
}

/** Python's `item in container`. */
function containsValue(container: Value, item: Value): boolean {
  switch (container?.type) {
    case "ArrayValue":
      return (container.value as Value[]).some((x) => equalValues(x, item));
    case "ObjectValue":
      return isText(item) || isInt(item) ? container.value.has(String(item.value)) : false;
    case "StringValue":
      return isText(item) && (container.value as string).includes(item.value);
  }
  return false;
}

/** An item's attribute for `attribute=` arguments: a key, a dotted path, or a list index. */
function attributeOf(item: Value, attribute: Value): Value {
  if (isInt(attribute) && item?.type === "ArrayValue") {
    const items = item.value as Value[];
    const at = attribute.value < 0 ? items.length + attribute.value : attribute.value;
    return items[at] ?? new R.Undefined();
  }
  let value = item;
  for (const part of String(attribute.value).split(".")) {
    if (value?.type === "ArrayValue" && /^-?\d+$/.test(part)) {
      value = attributeOf(value, new R.Integer(Number(part)));
    } else if (value?.type === "ObjectValue" || value?.type === "NamespaceValue") {
      value = value.value.get(part) ?? new R.Undefined();
    } else {
      return new R.Undefined();
    }
  }
  return value;
}

/** What llama.cpp's filters give for `none` (upstream value_none_t builtins). */
const NONE_FILTERS: Record<string, () => Value> = {
  string: () => new R.String("None"),
  safe: () => new R.String("None"),
  ...Object.fromEntries(
    ["items", "map", "reject", "rejectattr", "select", "selectattr", "unique"].map((
      n,
    ) => [n, () => new R.Array([])]),
  ),
};

/** What llama.cpp's filters give for undefined (upstream value_undefined_t builtins). */
const UNDEFINED_FILTERS: Record<string, () => Value> = {
  ...Object.fromEntries(
    [
      "capitalize",
      "join",
      "lower",
      "replace",
      "safe",
      "string",
      "strip",
      "title",
      "trim",
      "truncate",
      "upper",
    ].map((
      n,
    ) => [n, () => new R.String("")]),
  ),
  ...Object.fromEntries(
    [
      "items",
      "list",
      "map",
      "reject",
      "rejectattr",
      "reverse",
      "select",
      "selectattr",
      "sort",
      "unique",
    ].map((
      n,
    ) => [n, () => new R.Array([])]),
  ),
  ...Object.fromEntries(["length", "sum", "wordcount"].map((n) => [n, () => new R.Integer(0)])),
  ...Object.fromEntries(["first", "last", "max", "min"].map((n) => [n, () => new R.Undefined()])),
};

/** Filters `@huggingface/jinja` lacks or applies to fewer types. */
function extraFilter(
  operand: Value,
  name: string,
  pos: Value[],
  kw: Map<string, Value>,
): Value | undefined {
  if (operand?.type === "NullValue" && name in NONE_FILTERS) return NONE_FILTERS[name]!();
  if (operand?.type === "UndefinedValue" && name in UNDEFINED_FILTERS) {
    return UNDEFINED_FILTERS[name]!();
  }
  switch (name) {
    case "string":
      if (["ObjectValue", "ArrayValue", "BooleanValue"].includes(operand?.type)) {
        return new R.String(pyString(operand));
      }
      return undefined;
    case "upper":
    case "lower": {
      // llama.cpp: the strings of a list, or the keys and values of a dict
      const change = (v: Value) =>
        isText(v)
          ? new R.String(name === "upper" ? v.value.toUpperCase() : v.value.toLowerCase())
          : v;
      if (operand?.type === "ArrayValue") {
        return new R.Array((operand.value as Value[]).map(change));
      }
      if (operand?.type !== "ObjectValue") return undefined;
      const entries = [...(operand.value as Map<string, Value>)];
      return new R.Object(
        new Map(entries.map(([k, v]) => [change(new R.String(k)).value, change(v)])),
      );
    }
    case "count":
      return extraFilter(operand, "length", pos, kw) ?? new R.Integer(
        operand?.type === "ObjectValue" ? operand.value.size : operand?.value?.length ?? 0,
      );
    case "d": {
      const fallback = pos[0] ?? kw.get("default_value") ?? new R.String("");
      const boolean = (pos[1] ?? kw.get("boolean"))?.value === true;
      if (operand?.type === "UndefinedValue") return fallback;
      return boolean && !operand.__bool__().value ? fallback : operand;
    }
    case "capitalize":
      if (!isText(operand)) return undefined;
      return new R.String(pyCapitalize(operand.value));
    case "trim": {
      if (!isText(operand)) return undefined;
      const chars = (pos[0] ?? kw.get("chars"))?.value;
      if (typeof chars !== "string") return undefined;
      const set = new Set(chars);
      const text = operand.value as string;
      let a = 0;
      let b = text.length;
      while (a < b && set.has(text[a]!)) a++;
      while (b > a && set.has(text[b - 1]!)) b--;
      return new R.String(text.slice(a, b));
    }
    case "int": {
      const base = (pos[1] ?? kw.get("base"))?.value;
      if (!isText(operand) || typeof base !== "number") return undefined;
      const n = parseInt((operand.value as string).trim(), base);
      return new R.Integer(Number.isNaN(n) ? ((pos[0] ?? kw.get("default"))?.value ?? 0) : n);
    }
    case "join": {
      const attribute = kw.get("attribute");
      if (operand?.type !== "ArrayValue" || attribute === undefined) return undefined;
      const sep = (pos[0] ?? kw.get("d"))?.value ?? "";
      return new R.String(
        (operand.value as Value[]).map((v) => pyString(attributeOf(v, attribute))).join(sep),
      );
    }
    case "map": {
      const attribute = kw.get("attribute");
      if (operand?.type !== "ArrayValue" || !isInt(attribute)) return undefined;
      return new R.Array((operand.value as Value[]).map((v) => attributeOf(v, attribute)));
    }
    case "select":
    case "reject":
    case "selectattr":
    case "rejectattr": {
      if (operand?.type !== "ArrayValue") return undefined;
      const byAttribute = name.endsWith("attr");
      const [attribute, testName, ...args] = byAttribute ? pos : [undefined, ...pos];
      const test = testName === undefined
        ? (v: Value) => v?.__bool__?.().value === true
        : testNamed(String(testName.value));
      if (test === undefined) throw new Error(`Unknown test: ${testName?.value}`);
      const keep = name.startsWith("select");
      return new R.Array(
        (operand.value as Value[]).filter((item) => {
          const v = attribute === undefined ? item : attributeOf(item, attribute);
          return (v?.type !== "UndefinedValue" && test(v, ...args)) === keep;
        }),
      );
    }
    case "min":
    case "max":
    case "sum":
    case "unique": {
      if (operand?.type !== "ArrayValue") return undefined;
      const items = operand.value as Value[];
      const attribute = kw.get("attribute")?.value as string | undefined;
      const key = (v: Value) => (attribute !== undefined ? v.value.get(attribute) : v);
      if (name === "sum") {
        const start = kw.get("start")?.value ?? pos[0]?.value ?? 0;
        const total = items.reduce((acc, v) => acc + (key(v)?.value ?? 0), start);
        return toRuntime(total);
      }
      if (name === "unique") {
        const seen = new Set<string>();
        return new R.Array(items.filter((v) => {
          const k = JSON.stringify(fromRuntime(key(v)));
          if (seen.has(k)) return false;
          seen.add(k);
          return true;
        }));
      }
      if (items.length === 0) return new R.Undefined();
      const sign = name === "min" ? 1 : -1;
      return items.reduce((best, v) => (sign * compare(key(v), key(best)) < 0 ? v : best));
    }
    case "indent": {
      if (!isText(operand)) return undefined;
      const width = pos[0] ?? kw.get("width");
      const pad = isText(width) ? width.value : " ".repeat(width?.value ?? 4);
      const first = (pos[1] ?? kw.get("first"))?.value ?? false;
      const blank = (pos[2] ?? kw.get("blank"))?.value ?? false;
      const lines = (operand.value as string).split("\n");
      return new R.String(
        lines.map((line, i) => (i === 0 && !first) || (line === "" && !blank) ? line : pad + line)
          .join("\n"),
      );
    }
    case "wordcount":
      return isText(operand)
        ? new R.Integer((operand.value as string).split(/\s+/).filter(Boolean).length)
        : undefined;
  }
  return undefined;
}

/** The library's interpreter, its private methods seen as they are at run time. */
const BaseInterpreter = Interpreter as unknown as new (env: Environment) => Value;

/** Methods the library has that behave otherwise in Python (and llama.cpp). */
const OVERRIDDEN_METHODS = new Set(["capitalize"]);

/** Dicts written with integer keys (`{0: 0, 512: 128}`), keyed by the numbers' text. */
const INT_KEYED = new WeakSet<object>();

const isNullish = (v: Value) => v?.type === "UndefinedValue" || v?.type === "NullValue";

/** What one render may do (see {@linkcode JINJA_LIMITS}). */
export interface JinjaLimits {
  /** Expressions, statements and loop bodies evaluated. */
  steps: number;
  /** Items of one list (`range()`, `+`). */
  items: number;
  /** Characters of one string. */
  chars: number;
  /** Characters of all the strings evaluated, together. */
  totalChars: number;
}

/**
 * What one render may do by default. A chat template comes with the model, so it is untrusted
 * input: without bounds, `range(100000000)` filled V8's heap and ended the server. The memory
 * bounds are far above what a real template makes of a 10 MB request (the server's body
 * limit). The steps only end a loop that would not: Gemma 4's template takes 28 million of
 * them (4.6 s here) for a chat of 3,000 messages, as it looks over the whole chat at each one.
 */
export const JINJA_LIMITS: Readonly<JinjaLimits> = {
  steps: 200_000_000,
  items: 1_000_000,
  chars: 32 * 1024 * 1024,
  totalChars: 512 * 1024 * 1024,
};

/** A render past one of its {@linkcode JinjaLimits}. */
export class JinjaLimitError extends Error {
  override name = "JinjaLimitError";
}

function checkItems(count: number, limits: JinjaLimits): void {
  if (count > limits.items) {
    throw new JinjaLimitError(
      `the template made a list of ${count} items, more than the ${limits.items} allowed`,
    );
  }
}

function checkChars(count: number, limits: JinjaLimits): void {
  if (count > limits.chars) {
    throw new JinjaLimitError(
      `the template made a string of ${count} characters, more than the ${limits.chars} allowed`,
    );
  }
}

/** The interpreter with llama.cpp's additions. */
class ChatInterpreter extends BaseInterpreter {
  readonly #limits: JinjaLimits;
  #steps = 0;
  #chars = 0;

  constructor(env: Environment, limits: JinjaLimits) {
    super(env);
    this.#limits = limits;
  }

  #step(): void {
    if (++this.#steps > this.#limits.steps) {
      throw new JinjaLimitError(
        `the template ran past ${this.#limits.steps} steps (a loop that does not end?)`,
      );
    }
  }

  // A loop runs its body as a block, once per item, even an empty body: a step each.
  // deno-lint-ignore no-explicit-any
  evaluateBlock(statements: any, environment: any): Value {
    this.#step();
    return super.evaluateBlock(statements, environment);
  }

  // deno-lint-ignore no-explicit-any
  evaluate(statement: any, environment: any): Value {
    this.#step();
    const value = this.#evaluate(statement, environment);
    if (value?.type === "StringValue") {
      const length = (value.value as string).length;
      checkChars(length, this.#limits);
      this.#chars += length;
      if (this.#chars > this.#limits.totalChars) {
        throw new JinjaLimitError(
          `the template made more than ${this.#limits.totalChars} characters of strings`,
        );
      }
    } else if (value?.type === "ArrayValue") checkItems(value.value.length, this.#limits);
    return value;
  }

  // deno-lint-ignore no-explicit-any
  #evaluate(statement: any, environment: any): Value {
    if (statement?.type === "TupleLiteral") {
      // tuples unpack like lists (`for a, b in [("x", "y")]`)
      return new R.Array(statement.value.map((x: unknown) => this.evaluate(x, environment)));
    }
    if (statement?.type === "ObjectLiteral") {
      const map = new Map<string, Value>();
      let intKeys = false;
      for (const [key, value] of statement.value) {
        const k = this.evaluate(key, environment);
        if (isInt(k)) intKeys = true;
        else if (!isText(k)) {
          throw new Error(`Object keys must be strings or integers: got ${k.type}`);
        }
        map.set(String(k.value), this.evaluate(value, environment));
      }
      const object = new R.Object(map);
      if (intKeys) INT_KEYED.add(object);
      return object;
    }
    return super.evaluate(statement, environment);
  }

  // deno-lint-ignore no-explicit-any
  evaluateMemberExpression(expr: any, environment: any): Value {
    if (expr.computed && expr.property.type !== "SliceExpression") {
      const object = this.evaluate(expr.object, environment);
      if (INT_KEYED.has(object)) {
        const key = this.evaluate(expr.property, environment);
        return object.value.get(String(key.value)) ?? new R.Undefined();
      }
    }
    if (expr.computed && expr.property.type !== "SliceExpression") {
      // llama.cpp: a missing key, even an undefined one, reads as undefined
      const key = this.evaluate(expr.property, environment);
      if (key?.type === "UndefinedValue") return new R.Undefined();
    } else if (!expr.computed && OVERRIDDEN_METHODS.has(expr.property.value)) {
      const method = extraMethod(this.evaluate(expr.object, environment), expr.property.value);
      if (method !== undefined) return method;
    }
    const value = super.evaluateMemberExpression(expr, environment);
    if (value?.type !== "UndefinedValue" || expr.computed) return value;
    const object = this.evaluate(expr.object, environment);
    return extraMethod(object, expr.property.value) ?? value;
  }

  // deno-lint-ignore no-explicit-any
  evaluateBinaryExpression(node: any, environment: any): Value {
    const op = node.operator.value;
    if (op === "==" || op === "!=") {
      const left = this.evaluate(node.left, environment);
      const right = this.evaluate(node.right, environment);
      if (left?.type === "ArrayValue" || right?.type === "ArrayValue") {
        return new R.Boolean(equalValues(left, right) === (op === "=="));
      }
      return super.evaluateBinaryExpression(node, environment);
    }
    if (op === "*" || op === "in" || op === "not in") {
      const left = this.evaluate(node.left, environment);
      const right = this.evaluate(node.right, environment);
      if (op === "*" && isText(left) !== isText(right) && (isInt(left) || isInt(right))) {
        // Python's string repetition
        const [text, times] = isText(left) ? [left, right] : [right, left];
        const count = Math.max(0, times.value);
        checkChars((text.value as string).length * count, this.#limits);
        return new R.String((text.value as string).repeat(count));
      }
      if (op !== "*" && left?.type === "NullValue") {
        return new R.Boolean(containsValue(right, left) === (op === "in"));
      }
      return super.evaluateBinaryExpression(node, environment);
    }
    if (op !== "+" && op !== "~") return super.evaluateBinaryExpression(node, environment);
    const left = this.evaluate(node.left, environment);
    const right = this.evaluate(node.right, environment);
    const text = (v: Value) => (isText(v) ? v.value : isNullish(v) ? "" : v.toString());
    // llama.cpp: null or undefined joined to a string is the empty string
    if ((isNullish(left) && isText(right)) || (isText(left) && isNullish(right))) {
      return new R.String(text(left) + text(right));
    }
    if (op === "~" || isText(left) || isText(right)) {
      if (op === "+" && (isNullish(left) || isNullish(right))) {
        throw new Error("Cannot perform operation + on undefined values");
      }
      return new R.String(text(left) + text(right));
    }
    const numeric = (v: Value) => ["IntegerValue", "FloatValue", "BooleanValue"].includes(v?.type);
    if (numeric(left) && numeric(right)) {
      const sum = Number(left.value) + Number(right.value);
      return left.type === "FloatValue" || right.type === "FloatValue"
        ? new R.Float(sum)
        : new R.Integer(sum);
    }
    if (left?.type === "ArrayValue" && right?.type === "ArrayValue") {
      checkItems(left.value.length + right.value.length, this.#limits);
      return new R.Array([...left.value, ...right.value]);
    }
    throw new Error(`Cannot perform operation + on ${left?.type} and ${right?.type}`);
  }

  // deno-lint-ignore no-explicit-any
  evaluateFor(node: any, environment: any): Value {
    // llama.cpp: a loop over an undefined value renders nothing
    const iterable = node.iterable?.type === "SelectExpression" ? node.iterable.lhs : node.iterable;
    if (iterable?.type === "Identifier" || iterable?.type === "MemberExpression") {
      const value = this.evaluate(iterable, environment);
      if (value?.type === "UndefinedValue") {
        return new R.String(this.evaluateBlock(node.defaultBlock ?? [], environment).value ?? "");
      }
    }
    return super.evaluateFor(node, environment);
  }

  // deno-lint-ignore no-explicit-any
  evaluateTestExpression(node: any, environment: any): Value {
    const test = EXTRA_TESTS[node.test.value] ??
      (node.test.value === "test" ? testNamed("test") : undefined);
    if (test === undefined) return super.evaluateTestExpression(node, environment);
    const result = test(this.evaluate(node.operand, environment));
    return new R.Boolean(node.negate ? !result : result);
  }

  // deno-lint-ignore no-explicit-any
  applyFilter(operand: Value, filterNode: any, environment: any): Value {
    const name = filterNode.type === "Identifier"
      ? filterNode.value
      : filterNode.type === "CallExpression" && filterNode.callee.type === "Identifier"
      ? filterNode.callee.value
      : undefined;
    if (name !== undefined) {
      const [pos, kw]: [Value[], Map<string, Value>] = filterNode.type === "CallExpression"
        ? this.evaluateArguments(filterNode.args, environment)
        : [[], new Map()];
      if (name === "dictsort" && INT_KEYED.has(operand)) {
        const entries = [...(operand.value as Map<string, Value>)].map(([k, v]) =>
          [Number(k), v] as const
        );
        entries.sort((a, b) => a[0] - b[0]);
        return new R.Array(entries.map(([k, v]) => new R.Array([new R.Integer(k), v])));
      }
      const extra = extraFilter(operand, name, pos, kw);
      if (extra !== undefined) return extra;
    }
    return super.applyFilter(operand, filterNode, environment);
  }
}

/** A parsed Jinja template. */
export interface JinjaProgram {
  readonly body: unknown;
}

/** Parses `source` as Jinja (trim_blocks and lstrip_blocks, as chat templates are meant). */
export function parseJinja(source: string): JinjaProgram {
  return parse(tokenize(source, { lstrip_blocks: true, trim_blocks: true })) as JinjaProgram;
}

/**
 * Renders `program` with `variables`; `strftime_now` formats `now`.
 *
 * @throws {JinjaLimitError} When the render goes past `limits`.
 */
export function renderJinja(
  program: JinjaProgram,
  variables: Record<string, unknown>,
  now: Date = new Date(),
  limits: JinjaLimits = JINJA_LIMITS,
): string {
  const env = new Environment();
  const globals: Record<string, unknown> = {
    false: false,
    true: true,
    none: null,
    True: true,
    False: false,
    None: null,
    raise_exception: (message: unknown) => {
      throw new Error(`Jinja Exception: ${String(message)}`);
    },
    range: (start: number, stop?: number, step = 1) => {
      if (stop === undefined) [start, stop] = [0, start];
      if (step === 0) throw new RangeError("range() step argument must not be zero");
      checkItems(Math.ceil((stop - start) / step), limits);
      const out: number[] = [];
      for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
      return out;
    },
    strftime_now: (format: string) => strftime(now, String(format)),
  };
  for (const [key, value] of Object.entries(globals)) env.set(key, value);
  for (const [key, value] of Object.entries(variables)) {
    if (env.variables.has(key)) env.variables.set(key, toRuntime(value));
    else env.set(key, value);
  }
  return new ChatInterpreter(env, limits).run(program).value as string;
}
