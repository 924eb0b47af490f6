/** Stocks: a quote, and the recent 1-minute bars built from the market's ticks. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ErrorBody } from "../../http/errors.ts";
import { Bars, BarsQuery, StockPath, StockQuote } from "../schemas.ts";
import type { MarketRouteOptions } from "./options.ts";

export const stockRoutes: FastifyPluginAsyncZod<MarketRouteOptions> = async (app, { feed, serve }) => {
  app.get(
    "/v1/stocks/:symbol",
    {
      schema: {
        summary: "A stock's quote",
        operationId: "getStockQuote",
        params: StockPath,
        response: { 200: StockQuote, 400: ErrorBody, 404: ErrorBody, 414: ErrorBody, 429: ErrorBody },
      },
      links: {
        200: { bars: { operationId: "getStockBars", parameters: { symbol: "$response.body#/symbol" } } },
      },
    },
    async (request) => serve(request, "stock.quote", feed.simulator.stockQuote(request.params.symbol)),
  );

  app.get(
    "/v1/stocks/:symbol/bars",
    {
      schema: {
        summary: "A stock's recent 1-minute OHLCV bars",
        operationId: "getStockBars",
        params: StockPath,
        querystring: BarsQuery,
        response: { 200: Bars, 400: ErrorBody, 404: ErrorBody, 414: ErrorBody, 429: ErrorBody },
      },
      links: {
        200: { quote: { operationId: "getStockQuote", parameters: { symbol: "$response.body#/symbol" } } },
      },
    },
    async (request) => {
      const { symbol } = request.params;
      return { symbol, bars: feed.bars(symbol, request.query.limit) };
    },
  );
};
