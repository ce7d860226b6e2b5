import assert from "node:assert/strict";
import { checkIntegrity, fileIntegrity, npmPackageDir } from "./npm_package.ts";

const dir = await Deno.makeTempDir({ prefix: "npm_package_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

Deno.test("fileIntegrity() is npm's sha512 integrity of the file", async () => {
  await Deno.writeTextFile(`${dir}/abc`, "abc");
  // printf abc | openssl dgst -sha512 -binary | base64
  assert.equal(
    await fileIntegrity(`${dir}/abc`),
    "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==",
  );
});

Deno.test("checkIntegrity() refuses a tarball whose integrity is not the pinned one", async () => {
  await Deno.writeTextFile(`${dir}/evil.tgz`, "not the package");
  await assert.rejects(
    () =>
      checkIntegrity(`${dir}/evil.tgz`, {
        name: "@x/y",
        version: "1.0.0",
        integrity: "sha512-AAAA",
      }),
    /Cannot use @x\/y@1\.0\.0: the tarball's integrity sha512-\S+ is not the pinned sha512-AAAA/,
  );
});

Deno.test("npmPackageDir() takes node_modules at the pinned version, then the cache, without npm", async () => {
  const pkg = { name: "@x/y", version: "1.2.3", integrity: "sha512-pinned" };
  await Deno.mkdir(`${dir}/nm/@x/y`, { recursive: true });
  await Deno.writeTextFile(`${dir}/nm/@x/y/package.json`, JSON.stringify({ version: "1.2.3" }));
  assert.equal(
    await npmPackageDir(pkg, { nodeModules: `${dir}/nm`, cacheDir: `${dir}/c` }),
    `${dir}/nm/@x/y`,
  );
  // Another version in node_modules: the cache folder, marked with the pinned integrity.
  await Deno.writeTextFile(`${dir}/nm/@x/y/package.json`, JSON.stringify({ version: "9.9.9" }));
  await Deno.mkdir(`${dir}/c/x+y@1.2.3/package`, { recursive: true });
  await Deno.writeTextFile(`${dir}/c/x+y@1.2.3/.integrity`, "sha512-pinned\n");
  assert.equal(
    await npmPackageDir(pkg, { nodeModules: `${dir}/nm`, cacheDir: `${dir}/c` }),
    `${dir}/c/x+y@1.2.3/package`,
  );
});
