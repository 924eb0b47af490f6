/**
 * The dashboard as a new user sees it: `ticklake up` in a child process, the printed URL opened
 * in headless Chromium (Debian's package, driven by playwright-core). The page must come alive:
 * counters rise, charts draw, news and notifications appear, a worked query answers.
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

      // Both charts draw a line of several points.
      for (const kind of ["fx", "stock"]) {
        await expect
          .poll(async () => Number(await page.getAttribute(`.chart[data-kind="${kind}"]`, "data-points")), {
            timeout: 15_000,
          })
          .toBeGreaterThan(2);
        const points = (await page.getAttribute(`.chart[data-kind="${kind}"] polyline`, "points")) ?? "";
        expect(points.split(" ").length).toBeGreaterThan(2);
      }
      expect(await page.inputValue('.chart[data-kind="fx"] select')).toBe("EURUSD");

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
