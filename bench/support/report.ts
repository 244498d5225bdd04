/**
 * The figures, each printed beside its goal in one format and collected for the
 * summary table `deno task bench` prints at the end (and for `--repeat`, which compares
 * the rounds).
 */

/** What a figure must reach: at most or at least `value`, in the figure's unit. */
export interface Goal {
  op: "<=" | ">=";
  value: number;
}

export interface Figure {
  /** Stable across runs: `--repeat` pairs rounds by it. */
  name: string;
  value: number;
  /** `ms`, `µs`, `/s`, `MB`, `B` or `x` (a ratio). */
  unit: string;
  /** Absent for a figure printed for context only. */
  goal?: Goal;
  /** The figure as a ratio to a plain baseline measured in the same run, e.g. `0.44x plain SQL`. */
  baseline?: string;
  /**
   * Two rounds within this many units also count as repeatable: for figures near zero
   * (growth between rounds), where 10 % of the value is noise.
   */
  slack?: number;
}

const collected: Figure[] = [];

/** Records `figure` and returns the line that shows it beside its goal. */
export function figure(figure: Figure): string {
  collected.push(figure);
  const baseline = figure.baseline ? ` (${figure.baseline})` : "";
  const goal = figure.goal ? ` | goal ${goalText(figure)} | ${metText(met(figure))}` : "";
  return `  >> ${figure.name}: ${measured(figure)}${baseline}${goal}`;
}

/** The figures recorded since the last call, in order. */
export function takeFigures(): Figure[] {
  return collected.splice(0);
}

/** Whether the figure reached its goal; null without a goal or without a value. */
export function met(figure: Figure): boolean | null {
  if (!figure.goal || !Number.isFinite(figure.value)) return null;
  return figure.goal.op === "<="
    ? figure.value <= figure.goal.value
    : figure.value >= figure.goal.value;
}

/** The value with its unit, e.g. `12.3 ms`, `1,020/s`, `0.44x`. */
export function measured(figure: Figure): string {
  return amount(figure.value, figure.unit);
}

function goalText(figure: Figure): string {
  return `${figure.goal!.op} ${amount(figure.goal!.value, figure.unit)}`;
}

function metText(ok: boolean | null): string {
  return ok === null ? "-" : ok ? "met" : "NOT met";
}

function amount(value: number, unit: string): string {
  if (!Number.isFinite(value)) return "n/a";
  if (unit === "x") return `${value.toFixed(2)}x`;
  if (unit === "/s") return `${Math.round(value).toLocaleString("en-US")}/s`;
  if (unit === "B") return `${Math.round(value).toLocaleString("en-US")} B`;
  const digits = Math.abs(value) >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${unit}`;
}

/** Two rounds' values within 10 % of the larger (or within the figure's slack). */
export function withinTenPercent(figure: Figure, a: number, b: number): boolean {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  const diff = Math.abs(a - b);
  return diff <= 0.1 * Math.max(Math.abs(a), Math.abs(b)) || diff <= (figure.slack ?? 0);
}

/**
 * The summary: one row per figure with its goal; with several rounds, every round's value,
 * whether the first two are within 10 % of each other, and whether each round met the goal.
 */
export function summaryTable(rounds: Figure[][]): string[] {
  const names: string[] = [];
  for (const round of rounds) {
    for (const f of round) if (!names.includes(f.name)) names.push(f.name);
  }
  const header = rounds.length === 1
    ? ["figure", "measured", "goal", "met?"]
    : ["figure", ...rounds.map((_, i) => `run ${i + 1}`), "within 10%?", "goal", "met?"];
  const rows = names.map((name) => {
    const found = rounds.map((round) => round.find((f) => f.name === name));
    const first = found.find((f) => f !== undefined)!;
    const values = found.map((f) => f ? measured(f) : "missing");
    const goal = first.goal ? goalText(first) : "-";
    const metCell = found.map((f) => f ? metText(met(f)) : "-").join(" / ");
    if (rounds.length === 1) return [name, values[0], goal, metCell];
    const repeatable = found[0] && found[1]
      ? withinTenPercent(first, found[0].value, found[1].value) ? "yes" : "NO"
      : "-";
    return [name, ...values, repeatable, goal, metCell];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)];
}
