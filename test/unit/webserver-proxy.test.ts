/**
 * The web server behind a load balancer: each client is limited by its own address (the one the
 * balancer forwards), the balancer's health checks are neither limited nor logged into the
 * lake, and TRUST_PROXY_HOPS configures how many proxies are trusted.
 */
import { afterEach, describe, expect, it } from "vitest";
import { readConfig } from "../../src/core/config.ts";
import type { Envelope } from "../../src/core/events.ts";
import { build, type MarketApp } from "../../src/webserver/app.ts";
import { MarketFeed } from "../../src/webserver/feed.ts";
import { ServerConfig } from "../../src/webserver/server.ts";

const SOURCE = { service: "test", instance: "1" };
/** The load balancer's address inside the VPC. */
const BALANCER = "10.0.1.5";

describe("behind a load balancer", () => {
  let app: MarketApp | undefined;
  afterEach(async () => {
    await app?.close();
  });

  async function server(options: { trustProxyHops?: number; rateLimitPerMinute?: number }) {
    const logged: Envelope[] = [];
    const feed = new MarketFeed({ seed: 1, source: SOURCE, sink: { ship: (e) => logged.push(e) } });
    app = await build({ feed, source: SOURCE, rateLimitPerMinute: 2, ...options });
    const built = app;
    const get = async (url: string, from: { peer: string; forwardedFor?: string }) =>
      (
        await built.inject({
          url,
          remoteAddress: from.peer,
          headers: from.forwardedFor ? { "x-forwarded-for": from.forwardedFor } : {},
        })
      ).statusCode;
    return { get, logged };
  }

  it("with one trusted hop, limits each client by the address the balancer forwards", async () => {
    // GIVEN a server behind one proxy, 2 requests a minute per client
    const { get } = await server({ trustProxyHops: 1 });
    const alice = { peer: BALANCER, forwardedFor: "203.0.113.7" };
    const bob = { peer: BALANCER, forwardedFor: "198.51.100.20" };
    // WHEN alice goes over her limit
    const aliceStatuses = [
      await get("/metrics", alice),
      await get("/metrics", alice),
      await get("/metrics", alice),
    ];
    // THEN she gets 429, and bob, through the same balancer, does not
    expect(aliceStatuses).toEqual([200, 200, 429]);
    expect(await get("/metrics", bob)).toBe(200);
  });

  it("without trusted hops, every client through the balancer shares its address's limit", async () => {
    const { get } = await server({});
    expect(await get("/metrics", { peer: BALANCER, forwardedFor: "203.0.113.7" })).toBe(200);
    expect(await get("/metrics", { peer: BALANCER, forwardedFor: "203.0.113.8" })).toBe(200);
    expect(await get("/metrics", { peer: BALANCER, forwardedFor: "203.0.113.9" })).toBe(429);
  });

  it("does not take X-Forwarded-For from a client that reaches the server directly", async () => {
    // GIVEN one trusted hop, and a client on a public address that forges the header
    const { get } = await server({ trustProxyHops: 1 });
    const statuses: number[] = [];
    // WHEN it claims a new address with every request
    for (const forged of ["192.0.2.1", "192.0.2.2", "192.0.2.3"])
      statuses.push(await get("/metrics", { peer: "198.51.100.99", forwardedFor: forged }));
    // THEN it is still limited by its own address
    expect(statuses).toEqual([200, 200, 429]);
  });

  it("answers every health check, past any rate limit, and logs none into the lake", async () => {
    // GIVEN a limit of 1 request a minute
    const { get, logged } = await server({ rateLimitPerMinute: 1 });
    // WHEN the balancer checks health five times, and a client asks for the metrics
    const health: number[] = [];
    for (let i = 0; i < 5; i++) health.push(await get("/health", { peer: BALANCER }));
    expect(await get("/metrics", { peer: BALANCER })).toBe(200);
    // THEN every check is answered, the client still had its one request, and only it is logged
    expect(health).toEqual([200, 200, 200, 200, 200]);
    expect(await get("/metrics", { peer: BALANCER })).toBe(429);
    const routes = logged.flatMap((e) => (e.type === "http.request" ? [e.data.route] : []));
    expect(routes).toEqual(["/metrics", "/metrics"]);
  });

  it("reads TRUST_PROXY_HOPS from the environment: 0 by default, a whole number, named when wrong", () => {
    expect(readConfig(ServerConfig, { STREAM_NAME: "s" }).TRUST_PROXY_HOPS).toBe(0);
    expect(readConfig(ServerConfig, { STREAM_NAME: "s", TRUST_PROXY_HOPS: "1" }).TRUST_PROXY_HOPS).toBe(1);
    for (const bad of ["-1", "1.5", "one"])
      expect(() => readConfig(ServerConfig, { STREAM_NAME: "s", TRUST_PROXY_HOPS: bad })).toThrow(
        `TRUST_PROXY_HOPS must be a whole number of proxies, 0 or more (got "${bad}")`,
      );
  });
});
