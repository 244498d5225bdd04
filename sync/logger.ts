export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

/** Structured logging: one JSON object per line on stdout. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
// Field names whose values are never written, whatever code passes them.
const SECRET_FIELD = /token|secret|password|authorization|private|key_material/i;

/** A JSON-lines logger that drops messages below `level` and masks secret-looking fields. */
export function createLogger(level: LogLevel, write: (line: string) => void = console.log): Logger {
  const log = (at: LogLevel) => (message: string, fields: LogFields = {}) => {
    if (RANK[at] < RANK[level]) return;
    const safe = Object.fromEntries(
      Object.entries(fields).map((
        [k, v],
      ) => [k, SECRET_FIELD.test(k) ? "[redacted]" : serialise(v)]),
    );
    write(JSON.stringify({ time: new Date().toISOString(), level: at, message, ...safe }));
  };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

/** A logger that writes nothing, for tests that do not look at logs. */
export const SILENT_LOGGER: Logger = createLogger("error", () => {});

function serialise(value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}
