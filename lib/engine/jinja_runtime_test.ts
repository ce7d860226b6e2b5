import assert from "node:assert/strict";
import { JINJA_LIMITS, JinjaLimitError, parseJinja, renderJinja } from "./jinja_runtime.ts";

const render = (template: string, limits = JINJA_LIMITS) =>
  renderJinja(
    parseJinja(template),
    { messages: [{ role: "user", content: "hi" }] },
    new Date(0),
    limits,
  );

const refused = (template: string, pattern: RegExp, limits = JINJA_LIMITS) =>
  assert.throws(
    () => render(template, limits),
    (e: unknown) => e instanceof JinjaLimitError && pattern.test(e.message),
  );

Deno.test("renderJinja() refuses lists and strings that would fill the heap, before making them", () => {
  // range(100000000) used to fill V8's heap and end the server.
  refused(
    "{% for i in range(100000000) %}x{% endfor %}",
    /a list of 100000000 items, more than the 1000000 allowed/,
  );
  refused("{{ 'ab' * 1000000000 }}", /a string of 2000000000 characters, more than the 33554432/);
  refused(
    "{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
    /a list of 1048576 items/,
  );
  refused(
    "{% set ns = namespace(x='a') %}{% for i in range(40) %}{% set ns.x = ns.x ~ ns.x %}{% endfor %}",
    /a string of 67108864 characters/,
  );
  refused(
    "{% set ns = namespace(n=0) %}{% for i in range(100) %}{% set x = 'y' * 10000000 %}{% endfor %}",
    /more than 536870912 characters of strings/,
  );
  assert.equal(
    render("{{ range(3) | list }} {{ 'ab' * 2 }} {{ [1] + [2] }}"),
    "[0, 1, 2] abab [1, 2]",
  );
});

Deno.test("renderJinja() ends a loop that runs past its steps, empty bodies counted", () => {
  const limits = { ...JINJA_LIMITS, steps: 10_000 };
  const nested = "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}";
  refused(nested, /ran past 10000 steps/, limits);
  refused("{% for i in range(100000) %}{% endfor %}", /ran past 10000 steps/, limits);
  assert.equal(render("{% for i in range(100) %}{% endfor %}done", limits), "done");
});
