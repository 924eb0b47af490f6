/** Live FX and stock quotes and news as Server-Sent Events, optionally for some instruments. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { MarketTick } from "../../core/simulator.ts";
import { ErrorBody } from "../../http/errors.ts";
import { openEventStream } from "../../http/sse.ts";
import { StreamQuery } from "../schemas.ts";
import type { MarketRouteOptions } from "./options.ts";

export const streamRoutes: FastifyPluginAsyncZod<MarketRouteOptions> = async (app, { feed }) => {
  app.get(
    "/v1/stream",
    {
      schema: {
        summary: "Live FX and stock quotes and news as Server-Sent Events",
        querystring: StreamQuery,
        response: {
          200: {
            description: "Events `hello`, then `fx`, `stock` and `news` as the market ticks; never ends",
            content: { "text/event-stream": { schema: z.string() } },
          },
          400: ErrorBody,
          414: ErrorBody,
          429: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const { symbols } = request.query;
      const wanted = symbols === undefined ? undefined : new Set(symbols);
      const onTick = (tick: MarketTick) => {
        for (const quote of tick.fx)
          if (!wanted || wanted.has(quote.pair)) stream.send("fx", { ...quote, at: tick.atMs });
        for (const quote of tick.stocks)
          if (!wanted || wanted.has(quote.symbol)) stream.send("stock", { ...quote, at: tick.atMs });
        for (const article of tick.news) stream.send("news", { ...article, at: tick.atMs });
      };
      const stream = openEventStream(request, reply, () => {
        feed.events.off("tick", onTick);
        feed.events.off("stop", stream.end);
      });
      feed.events.on("tick", onTick);
      feed.events.once("stop", stream.end);
      stream.send("hello", { at: feed.now() });
    },
  );
};
