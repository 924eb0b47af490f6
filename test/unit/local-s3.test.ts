import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { describe, expect, it } from "vitest";
import { parseRange } from "../../src/local/s3/api.ts";
import { AwsChunkedDecoder } from "../../src/local/s3/aws-chunked.ts";

const decode = (chunks: string[]) =>
  text(Readable.from(chunks.map((c) => Buffer.from(c))).pipe(new AwsChunkedDecoder()));

describe("AwsChunkedDecoder", () => {
  it("strips signed framing, whatever the boundaries the bytes arrive in", async () => {
    // GIVEN a signed aws-chunked body of two chunks and the final one, cut at awkward places
    const sig = `;chunk-signature=${"a".repeat(64)}`;
    const body = `5${sig}\r\nhello\r\n6${sig}\r\n world\r\n0${sig}\r\n\r\n`;
    const pieces = [body.slice(0, 3), body.slice(3, 80), body.slice(80, 81), body.slice(81)];
    // WHEN decoded, THEN only the payload is left
    expect(await decode(pieces)).toBe("hello world");
  });

  it("reads past the trailers of an unsigned streaming upload", async () => {
    const body = "3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n";
    expect(await decode([body])).toBe("abc");
  });

  it("refuses a body that ends before its final chunk, and a malformed chunk header", async () => {
    await expect(decode(["5\r\nhel"])).rejects.toThrow(/ended before its final chunk/);
    await expect(decode(["zz\r\nhello\r\n"])).rejects.toThrow(/chunk header "zz"/);
    await expect(decode(["2\r\nhello\r\n0\r\n\r\n"])).rejects.toThrow(/after a chunk's declared size/);
  });
});

describe("parseRange", () => {
  it.each([
    ["bytes=0-0", 10, { start: 0, end: 0 }],
    ["bytes=2-5", 10, { start: 2, end: 5 }],
    ["bytes=7-", 10, { start: 7, end: 9 }],
    ["bytes=-3", 10, { start: 7, end: 9 }],
    ["bytes=-30", 10, { start: 0, end: 9 }],
    ["bytes=8-100", 10, { start: 8, end: 9 }],
    ["bytes=10-", 10, "unsatisfiable"],
    ["bytes=-0", 10, "unsatisfiable"],
    ["bytes=0-", 0, "unsatisfiable"],
    // S3 ignores what it cannot parse (RFC 9110): the whole object.
    ["bytes=5-2", 10, undefined],
    ["bytes=0-1,4-5", 10, undefined],
    ["items=0-1", 10, undefined],
    [undefined, 10, undefined],
  ] as const)("%s of %i bytes → %j", (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});
