import assert from "node:assert/strict";
import { hostName, isLoopback, isWildcard } from "./loopback.ts";

Deno.test("hostName() takes the host out of a Host header", () => {
  assert.equal(hostName("LocalHost:8080"), "localhost");
  assert.equal(hostName("[::1]:8080"), "::1");
  assert.equal(hostName("127.0.0.1"), "127.0.0.1");
  assert.equal(hostName("bad host"), null);
});

Deno.test("isLoopback() knows loopback names and rejects look-alikes", () => {
  for (const name of ["localhost", "app.localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"]) {
    assert.ok(isLoopback(name), name);
  }
  for (
    const name of [
      "localhost.evil.com",
      "127.0.0.1.evil.com",
      "128.0.0.1",
      "0.0.0.0",
      "example.com",
    ]
  ) {
    assert.ok(!isLoopback(name), name);
  }
});

Deno.test("isWildcard() spots all-interfaces bind addresses", () => {
  assert.ok(isWildcard("0.0.0.0") && isWildcard("::") && isWildcard("[::]"));
  assert.ok(!isWildcard("127.0.0.1"));
});
