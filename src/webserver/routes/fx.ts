/** FX: mid rates against a base currency, and one pair's quote. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { FX_PAIRS } from "../../core/instruments.ts";
import { ErrorBody } from "../../http/errors.ts";
import { FxQuote, PairPath, Rates, RatesQuery } from "../schemas.ts";
import type { MarketRouteOptions } from "./options.ts";

export const fxRoutes: FastifyPluginAsyncZod<MarketRouteOptions> = async (app, { feed, serve }) => {
  app.get(
    "/v1/fx/rates",
    {
      schema: {
        summary: "Mid rates of every pair with a base currency",
        querystring: RatesQuery,
        response: { 200: Rates, 400: ErrorBody, 414: ErrorBody, 429: ErrorBody },
      },
    },
    async (request) => {
      const { base } = request.query;
      const rates: Partial<Record<string, number>> = {};
      for (const pair of FX_PAIRS) {
        if (!pair.startsWith(base) && !pair.endsWith(base)) continue;
        const quote = serve(request, "fx.quote", feed.simulator.fxQuote(pair));
        const mid = (quote.bid + quote.ask) / 2;
        if (pair.startsWith(base)) rates[pair.slice(3)] = Number(mid.toPrecision(8));
        else rates[pair.slice(0, 3)] = Number((1 / mid).toPrecision(8));
      }
      return { base, at: new Date(feed.now()).toISOString(), rates };
    },
  );

  app.get(
    "/v1/fx/:pair",
    {
      schema: {
        summary: "A pair's quote",
        params: PairPath,
        response: { 200: FxQuote, 400: ErrorBody, 404: ErrorBody, 414: ErrorBody, 429: ErrorBody },
      },
    },
    async (request) => serve(request, "fx.quote", feed.simulator.fxQuote(request.params.pair)),
  );
};
