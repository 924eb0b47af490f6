/**
 * The dashboard as a new user sees it: `ticklake up` in a child process, the printed URL opened
 * in headless Chromium (Debian's package, driven by playwright-core). The page must come alive:
 * counters rise, charts draw with time and price axes and the last price marked (a stock as
 * the API's 1-minute candles), instruments can be chosen, latency is over the last 30 s, news
 * and notifications appear, a worked query answers.
 * A screenshot is saved to test-results/dashboard.png.
 */
import { access, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, startUp, summaryOf } from "../support/cli.ts";
import { eventually, tempStateDir } from "../support/local-aws.ts";
import { CHROMIUM } from "../support/tools.ts";

const SCREENSHOT = new URL("../../test-results/dashboard.png", import.meta.url).pathname;

describe("the dashboard in a browser", () => {
  let state: Awaited<ReturnType<typeof tempStateDir>>;
  let browser: Browser;

  beforeAll(async () => {
    state = await tempStateDir();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await state.remove();
  });

  it("shows data moving through every stage, live prices, news, notifications and a query", async () => {
    // Plenty of news, so that an article arrives while the test watches.
    const run = startUp(state.dir, ["--news", "120", "--ticks", "2"]);
    try {
      const url = await eventually(
        async () =>
          run.output.find((line) => line.startsWith("dashboard on "))?.slice("dashboard on ".length),
        60_000,
        "the dashboard URL",
      );
      const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      await page.goto(url);
      await expect.poll(() => page.title()).toContain("ticklake");

      const count = async (stage: string) =>
        Number(((await page.textContent(`b[data-count="${stage}"]`)) ?? "").replaceAll(",", ""));
      // Counters show numbers, and they rise while we watch.
      await expect.poll(() => count("produced"), { timeout: 15_000 }).toBeGreaterThan(0);
      await expect.poll(() => count("stored"), { timeout: 20_000 }).toBeGreaterThan(0);
      const [firstProduced, firstStored] = [await count("produced"), await count("stored")];
      await expect.poll(() => count("produced"), { timeout: 10_000 }).toBeGreaterThan(firstProduced);
      await expect.poll(() => count("stored"), { timeout: 20_000 }).toBeGreaterThan(firstStored);
      await expect.poll(() => count("notified"), { timeout: 10_000 }).toBeGreaterThan(0);
      expect(await page.textContent('[data-latency="p99Ms"]')).toMatch(/^[\d,]+ ms$/);
      expect(await page.getAttribute("#connection", "data-state")).toBe("live");

      // FX: a line of several ticks. Stocks: at least one 1-minute candle.
      for (const [kind, least] of [
        ["fx", 3],
        ["stock", 1],
      ] as const) {
        await expect
          .poll(async () => Number(await page.getAttribute(`.chart[data-kind="${kind}"]`, "data-points")), {
            timeout: 15_000,
          })
          .toBeGreaterThanOrEqual(least);
      }
      const fxPoints = (await page.getAttribute('.chart[data-kind="fx"] polyline.series', "points")) ?? "";
      expect(fxPoints.split(" ").length).toBeGreaterThan(2);
      expect(await page.inputValue('.chart[data-kind="fx"] select')).toBe("EURUSD");

      // Both charts: a time axis and a price axis with labels, and the last price marked.
      for (const kind of ["fx", "stock"]) {
        const chart = `.chart[data-kind="${kind}"]`;
        const times = await page.locator(`${chart} .axis.time text`).allTextContents();
        expect(times.length, kind).toBeGreaterThanOrEqual(2);
        for (const time of times) expect(time, kind).toMatch(/^\d\d:\d\d(:\d\d)?$/);
        const prices = (await page.locator(`${chart} .axis.price text`).allTextContents()).map(Number);
        expect(prices.length, kind).toBeGreaterThanOrEqual(2);
        expect(prices.every(Number.isFinite), kind).toBe(true);
        expect(prices, kind).toEqual([...prices].sort((a, b) => a - b));
        // Read in one step: the chart redraws on every tick.
        const { last, output } = await page.locator(chart).evaluate((root) => ({
          last: root.querySelector(".last text")?.textContent,
          output: root.querySelector("output")?.textContent,
        }));
        expect(Number(last), kind).toBeGreaterThan(0);
        expect(last, kind).toBe(output);
      }

      // The stock's candles are the API's 1-minute bars.
      const origin = new URL(url).origin;
      const candlesOf = () =>
        page.locator('.chart[data-kind="stock"] .candle').evaluateAll((nodes) =>
          nodes.map((node) => ({
            minute: node.getAttribute("data-minute"),
            open: Number(node.getAttribute("data-open")),
          })),
        );
      const stock = await page.inputValue('.chart[data-kind="stock"] select');
      const { bars } = (await (await fetch(`${origin}/v1/stocks/${stock}/bars?limit=60`)).json()) as {
        bars: Array<{ minute: string; open: number }>;
      };
      expect(bars.length).toBeGreaterThan(0);
      expect(await candlesOf()).toContainEqual({ minute: bars[0]?.minute, open: bars[0]?.open });

      // Other instruments can be chosen: the charts follow.
      const otherStock = await page
        .locator('.chart[data-kind="stock"] select option')
        .nth(1)
        .getAttribute("value");
      const otherPair = await page
        .locator('.chart[data-kind="fx"] select option')
        .nth(1)
        .getAttribute("value");
      expect(otherStock).not.toBe(stock);
      expect(otherPair).not.toBe("EURUSD");
      await page.selectOption('.chart[data-kind="stock"] select', otherStock ?? "");
      await page.selectOption('.chart[data-kind="fx"] select', otherPair ?? "");
      await expect
        .poll(() => page.getAttribute('.chart[data-kind="stock"]', "data-symbol"), { timeout: 10_000 })
        .toBe(otherStock);
      await expect
        .poll(() => page.getAttribute('.chart[data-kind="fx"]', "data-symbol"), { timeout: 10_000 })
        .toBe(otherPair);
      expect((await candlesOf()).length).toBeGreaterThan(0);

      // Latency is over a rolling window of the last 30 s, as the page says.
      const snapshot = (await (await fetch(`${origin}/v1/pipeline`)).json()) as {
        latency: { windowSeconds: number };
      };
      expect(snapshot.latency.windowSeconds).toBe(30);
      expect(await page.locator("[data-latency-window]").allTextContents()).toEqual(["30 s", "30 s"]);

      // A news item and a notification appear.
      await expect.poll(() => page.locator("#news-list li").count(), { timeout: 20_000 }).toBeGreaterThan(0);
      expect(await page.textContent("#news-list li .headline")).not.toBe("");
      await expect
        .poll(() => page.locator("#notification-rows tr").count(), { timeout: 10_000 })
        .toBeGreaterThan(0);
      expect(await page.textContent("#notification-rows tr td.key")).toMatch(/^(lake|quarantine)\//);

      // The query box runs a worked example against the lake.
      await page.selectOption("#query-examples", "latestFxMid");
      expect(await page.inputValue("#query-sql")).toContain("FROM fx_quotes");
      await page.click("#query-form button");
      await expect.poll(() => page.textContent("#query-status"), { timeout: 30_000 }).toMatch(/^\d+ rows/);
      expect(await page.locator("#query-result th").allTextContents()).toEqual(["pair", "mid", "at"]);
      expect(await page.locator("#query-result tbody tr").count()).toBeGreaterThan(0);

      await mkdir(new URL("../../test-results/", import.meta.url), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect(errors).toEqual([]);

      // Another terminal's `ticklake status` shows the same counts per stage.
      const status = await runCli(["--state-dir", state.dir, "status", "--json"]);
      expect(status.code, status.stderr).toBe(0);
      const seen = JSON.parse(status.stdout);
      expect(seen.pipeline.stages.produced).toBeGreaterThan(0);
      expect(seen.pipeline.stages.stored).toBeGreaterThan(0);
      expect((await runCli(["--state-dir", state.dir, "status"])).stdout).toMatch(
        /^stages {7}produced [\d,]+ → in stream/m,
      );

      // Ctrl-C with the page still open: its streams end, and up drains and exits.
      run.child.kill("SIGINT");
      expect(await run.exit, run.output.join("\n")).toBe(0);
      await page.close();
      // Stopped: status no longer finds a running pipeline to ask.
      await expect(access(join(state.dir, "up.json"))).rejects.toThrow(/ENOENT/);
      expect(summaryOf(run)["produced + other = stored + quarantined"]).toBe("ok");
    } finally {
      run.child.kill("SIGKILL");
    }
  }, 180_000);
});
