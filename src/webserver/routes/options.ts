/** What the market routes are given: the live market, and how to log what a response served. */
import type { FastifyRequest } from "fastify";
import type { DataOf, EventType } from "../../core/events.ts";
import type { MarketFeed } from "../feed.ts";

/** Records data a response serves, to be logged with its request; returns the data. */
export type Serve = <T extends EventType>(request: FastifyRequest, type: T, data: DataOf<T>) => DataOf<T>;

export interface MarketRouteOptions {
  feed: MarketFeed;
  serve: Serve;
}
