import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sha256Base64, sha256Hex } from "./sha256.ts";

Deno.test("sha256Hex() gives the FIPS 180-2 test vectors", () => {
  assert.equal(
    sha256Hex(""),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
});

Deno.test("sha256Hex() and sha256Base64() agree with node:crypto on every length around the block boundaries", () => {
  const bytes = new Uint8Array(300);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + 7) & 0xff;
  for (let n = 0; n <= bytes.length; n++) {
    const data = bytes.subarray(0, n);
    assert.equal(sha256Hex(data), createHash("sha256").update(data).digest("hex"), `${n} bytes`);
    assert.equal(
      sha256Base64(data),
      createHash("sha256").update(data).digest("base64"),
      `${n} bytes`,
    );
  }
  const text = "héllo, 世界 🦕";
  assert.equal(sha256Hex(text), createHash("sha256").update(text).digest("hex"));
});
