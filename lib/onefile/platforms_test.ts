import assert from "node:assert/strict";
import { parsePlatformList, PLATFORM_NAMES, platformOf, PLATFORMS } from "./platforms.ts";

Deno.test("parsePlatformList() reads names in order, and all", () => {
  assert.deepEqual(parsePlatformList("linux-arm64,linux-x64"), ["linux-arm64", "linux-x64"]);
  assert.deepEqual(parsePlatformList(" linux-x64 "), ["linux-x64"]);
  assert.deepEqual(parsePlatformList("all"), [...PLATFORM_NAMES]);
  assert.deepEqual(PLATFORM_NAMES, ["linux-x64", "linux-arm64"]);
});

Deno.test("parsePlatformList() refuses unknown, repeated and empty names", () => {
  assert.throws(
    () => parsePlatformList("darwin-arm64"),
    /Unknown platform "darwin-arm64": this version packs linux-x64, linux-arm64, or all/,
  );
  assert.throws(() => parsePlatformList("toString"), /Unknown platform "toString"/);
  assert.throws(() => parsePlatformList("linux-x64,linux-x64"), /"linux-x64" is named twice/);
  assert.throws(() => parsePlatformList("linux-x64,"), /has an empty name/);
  assert.throws(() => parsePlatformList(""), /has an empty name/);
});

Deno.test("platformOf() maps Deno.build to a platform, or null", () => {
  assert.equal(platformOf({ os: "linux", arch: "x86_64" })?.name, "linux-x64");
  assert.equal(platformOf({ os: "linux", arch: "aarch64" })?.name, "linux-arm64");
  assert.equal(platformOf({ os: "darwin", arch: "aarch64" }), null);
  assert.equal(platformOf({ os: "linux", arch: "riscv64" }), null);
});

Deno.test("PLATFORMS pins every package by version and sha512 integrity, at one Deno and one llama.cpp release", () => {
  for (const platform of Object.values(PLATFORMS)) {
    for (const pkg of [platform.deno, platform.llama]) {
      assert.match(pkg.version, /^\d+\.\d+\.\d+$/, pkg.name);
      assert.match(pkg.integrity, /^sha512-[A-Za-z0-9+/]{86}==$/, pkg.name);
    }
    assert.equal(platform.deno.name, `@deno/${platform.name}-glibc`);
    assert.equal(platform.llama.name, `@node-llama-cpp/${platform.name}`);
    assert.equal(platform.llama.libDir, `bins/${platform.name}`);
  }
  const versions = new Set(
    Object.values(PLATFORMS).map((p) => `${p.deno.version} ${p.llama.version}`),
  );
  assert.equal(versions.size, 1);
});

Deno.test("PLATFORMS pins linux-x64's libraries at the integrity package-lock.json installs", async () => {
  const lock = JSON.parse(
    await Deno.readTextFile(new URL("../../package-lock.json", import.meta.url)),
  );
  const installed = lock.packages["node_modules/@node-llama-cpp/linux-x64"];
  assert.equal(installed.version, PLATFORMS["linux-x64"]!.llama.version);
  assert.equal(installed.integrity, PLATFORMS["linux-x64"]!.llama.integrity);
});
