/** The news feed, newest first, optionally about one stock. */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ErrorBody } from "../../http/errors.ts";
import { NewsPage, NewsQuery } from "../schemas.ts";
import type { MarketRouteOptions } from "./options.ts";

export const newsRoutes: FastifyPluginAsyncZod<MarketRouteOptions> = async (app, { feed, serve }) => {
  app.get(
    "/v1/news",
    {
      schema: {
        summary: "The news feed, newest first",
        querystring: NewsQuery,
        response: { 200: NewsPage, 400: ErrorBody, 414: ErrorBody, 429: ErrorBody },
      },
    },
    async (request) => {
      const { symbol, limit, offset } = request.query;
      const articles = feed.news({ ...(symbol ? { symbol } : {}), limit, offset });
      for (const article of articles) serve(request, "news.article", article);
      return { articles, limit, offset };
    },
  );
};
