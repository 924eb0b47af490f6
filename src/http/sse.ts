/**
 * Server-Sent Events on a Fastify route: the reply is taken over (hijacked), the stream's
 * headers are written once, a comment every 15 s keeps proxies and load balancers from closing
 * an idle connection, and the stream ends once, whoever ends it first: the client, the server.
 */
import type { FastifyReply, FastifyRequest } from "fastify";

/** Between heartbeats: load balancers close a connection idle for 60 s by default. */
const HEARTBEAT_MS = 15_000;

export interface EventStream {
  /** Sends one event: `event: <name>` and its data as JSON. */
  send(event: string, data: unknown): void;
  /** Ends the stream (again is a no-op). */
  end(): void;
}

/** Opens an event stream on `reply`; `onEnd` runs once when it ends, from either side. */
export function openEventStream(
  request: FastifyRequest,
  reply: FastifyReply,
  onEnd: () => void,
): EventStream {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-store",
    connection: "keep-alive",
    "x-request-id": request.id,
  });
  const heartbeat = setInterval(() => raw.write(": heartbeat\n\n"), HEARTBEAT_MS);
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    onEnd();
    raw.end();
  };
  request.raw.once("close", end);
  return {
    send: (event, data) => {
      raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end,
  };
}
