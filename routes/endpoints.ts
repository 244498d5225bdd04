import type { Context, Hono, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { AppError } from "../sync/errors.ts";
import type { AppEnv } from "./env.ts";
import { errorBody } from "./errors.ts";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/**
 * Which endpoint a request is for, as a route pattern (`/api/devices/:id`, never the raw
 * path, so metrics labels stay bounded), and which methods a path is served with.
 * Middleware registered with `use` (method `ALL`) is not an endpoint.
 */
export class Endpoints {
  constructor(private readonly app: Hono<AppEnv>) {}

  /**
   * The pattern of the endpoint serving this request; for a path served only with other
   * methods, that path's pattern; else `unmatched`.
   */
  pattern(c: Context<AppEnv>): string {
    const own = matchedRoutes(c).findLast((route) => route.method !== "ALL");
    return own?.path ?? this.#others(c.req.method, c.req.path).pattern ?? "unmatched";
  }

  /**
   * Middleware answering 405 with `Allow` when no endpoint serves the request's method at
   * its path but one serves another method there. Mount it before authentication, so the
   * answer does not depend on the token.
   */
  methodNotAllowed(): MiddlewareHandler<AppEnv> {
    return async (c, next) => {
      if (matchedRoutes(c).some((route) => route.method !== "ALL")) return await next();
      const { methods } = this.#others(c.req.method, c.req.path);
      if (methods.length === 0) return await next();
      const allow = methods.includes("GET") ? [...methods, "HEAD"] : methods;
      const error = new AppError(
        "METHOD_NOT_ALLOWED",
        `${c.req.method} is not allowed here: use ${allow.join(", ")}`,
        { allowed: allow },
      );
      return c.json(errorBody(error), 405, { Allow: allow.join(", ") });
    };
  }

  #others(method: string, path: string): { methods: string[]; pattern: string | null } {
    let pattern: string | null = null;
    const methods = METHODS.filter((other) => {
      if (other === method) return false;
      const [matches] = this.app.router.match(other, path);
      const endpoint = matches.map(([[, route]]) => route).findLast((r) => r.method !== "ALL");
      pattern ??= endpoint?.path ?? null;
      return endpoint !== undefined;
    });
    return { methods, pattern };
  }
}
