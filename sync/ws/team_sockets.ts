import { type SyncEvent, teamChannel } from "../events.ts";
import type { Connection } from "./connection.ts";
import { dispatchEvent } from "./dispatch.ts";
import { recoverAfterGap } from "./gap_recovery.ts";
import type { HubContext } from "./hub_context.ts";
import type { WsSubscriptions } from "./subscriptions.ts";
import type { UserSockets } from "./user_sockets.ts";

interface Team {
  /** Resolves true once the team's channel is subscribed, false when it cannot be. */
  subscribed: Promise<boolean>;
  /** The users with a socket of this team here. */
  users: Set<UserSockets>;
}

/**
 * The team side of the hub (DESIGN.md §11): one bus subscription of `sync:team:<id>` per
 * team with a socket on this instance, shared by all its members' sockets here. A team
 * event is delivered to each member's sockets in that user's event order (alongside the
 * user's own events); after a gap on the team's channel, every member's socket here is
 * caught up from its cursor, which covers both streams.
 */
export class TeamSockets {
  readonly #teams = new Map<string, Team>();

  constructor(
    private readonly context: HubContext,
    private readonly channels: WsSubscriptions,
  ) {}

  /**
   * Counts a connection of `user` in its team (none: nothing to do). Resolves whether the
   * team's channel is subscribed (true for a socket of no team).
   */
  join(connection: Connection, user: UserSockets): Promise<boolean> {
    if (connection.team === null) return Promise.resolve(true);
    let team = this.#teams.get(connection.team);
    if (!team) {
      team = { subscribed: this.#subscribe(connection.team), users: new Set() };
      this.#teams.set(connection.team, team);
    }
    team.users.add(user);
    return team.subscribed;
  }

  /**
   * After a connection left: the user leaves its team here once none of its sockets is of
   * that team, and the channel is dropped once no user is left.
   */
  leave(connection: Connection, user: UserSockets): void {
    const id = connection.team;
    const team = id === null ? undefined : this.#teams.get(id);
    if (!team || [...user.connections].some((c) => c.team === id)) return;
    team.users.delete(user);
    if (team.users.size > 0) return;
    this.#teams.delete(id!);
    this.#unsubscribe(id!);
  }

  /** Shutdown: drops every team subscription. */
  close(): void {
    for (const id of this.#teams.keys()) this.#unsubscribe(id);
    this.#teams.clear();
  }

  #onEvent(id: string, raw: string): void {
    const team = this.#teams.get(id);
    if (!team) return;
    let event: SyncEvent;
    try {
      event = JSON.parse(raw);
    } catch {
      return this.context.logger.warn("Dropped a malformed bus event", { team_id: id });
    }
    for (const user of team.users) {
      void this.context.track(
        user.enqueue(
          event,
          (e) =>
            dispatchEvent(this.context, user, e, id).catch((error) =>
              this.context.logger.error("Delivering a team event failed", { team_id: id, error })
            ),
        ),
      );
    }
  }

  #subscribe(id: string): Promise<boolean> {
    return this.channels.subscribe(
      teamChannel(id),
      (message) => this.#onEvent(id, message),
      // Events published while the channel was away never arrived.
      () => {
        for (const user of this.#teams.get(id)?.users ?? []) recoverAfterGap(this.context, user);
      },
    ).then(() => true, (error) => {
      this.context.logger.error("Subscribing to a team channel failed", { team_id: id, error });
      return false;
    });
  }

  #unsubscribe(id: string): void {
    void this.context.track(
      this.channels.unsubscribe(teamChannel(id)).catch((error) =>
        this.context.logger.warn("Unsubscribing from a bus channel failed", {
          channel: teamChannel(id),
          error,
        })
      ),
    );
  }
}
