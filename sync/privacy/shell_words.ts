/**
 * Splits a command line into simple commands the way a POSIX shell reads words: quotes
 * removed, escapes resolved, operators (`|`, `&&`, `;`, …) and redirections set apart.
 * Not a shell: just enough structure to tell `ssh -p 2222` from `sshpass -p hunter2`.
 * @module
 */

/** One simple command: its words, and what is fed to its standard input. */
export interface SimpleCommand {
  words: string[];
  /** The command whose output is piped into this one (`echo x | this`). */
  pipedFrom: SimpleCommand | null;
  /** The text of a here-string (`this <<< text`). */
  hereString: string | null;
  /** Files its output is redirected to (`> file`, `>> file`). */
  writesTo: string[];
}

// Characters that end a run of ordinary word characters.
const PLAIN = /[^\s'"\\$`|&;()<>]+/y;
const NESTING_DEPTH = 2;

/**
 * The simple commands of `line`, followed by those of the code nested in it: `$(…)`,
 * backticks, process substitutions and quoted strings holding spaces (`bash -c '…'`,
 * `ssh host "…"`), to a depth of two.
 */
export function simpleCommands(line: string, depth = NESTING_DEPTH): SimpleCommand[] {
  const reader = new Reader(line);
  reader.read();
  const commands = reader.commands;
  if (depth > 0) {
    for (const inner of reader.nested) commands.push(...simpleCommands(inner, depth - 1));
  }
  return commands;
}

class Reader {
  readonly commands: SimpleCommand[] = [];
  readonly nested: string[] = [];
  #words: string[] = [];
  #word = "";
  #inWord = false;
  #redirect: string | null = null;
  #hereString: string | null = null;
  #writesTo: string[] = [];
  #pipedFrom: SimpleCommand | null = null;
  #i = 0;

  constructor(readonly line: string) {}

  read(): void {
    const line = this.line;
    while (this.#i < line.length) {
      PLAIN.lastIndex = this.#i;
      const plain = PLAIN.exec(line);
      if (plain) {
        this.#append(plain[0]);
        this.#i = PLAIN.lastIndex;
        continue;
      }
      const c = line[this.#i];
      const next = line[this.#i + 1];
      if (c === "\n") this.#endCommand(false);
      else if (c === " " || c === "\t" || c === "\r") this.#endWord();
      else if (c === "\\") {
        if (next !== "\n" && next !== undefined) this.#append(next);
        this.#i++;
      } else if (c === "'") this.#quoted("'", false);
      else if (c === '"') this.#quoted('"', true);
      else if (c === "$" && next === "'") {
        this.#i++;
        this.#quoted("'", true);
      } else if ((c === "$" || c === "<" || c === ">") && next === "(") {
        this.#substitution(c);
        continue;
      } else if (c === "`") this.#backticks();
      else if (c === "|") {
        if (next === "|") this.#i++;
        else if (next === "&") this.#i++;
        this.#endCommand(next !== "|");
      } else if (c === "&" && next === "&") {
        this.#i++;
        this.#endCommand(false);
      } else if (c === "<" || c === ">" || (c === "&" && next === ">")) {
        this.#redirection();
        continue;
      } else if (c === "$") this.#append("$");
      else this.#endCommand(false); // ; & ( )
      this.#i++;
    }
    this.#endCommand(false);
  }

  #append(text: string): void {
    this.#word += text;
    this.#inWord = true;
  }

  #endWord(): void {
    if (!this.#inWord) return;
    if (this.#redirect === "<<<") this.#hereString = this.#word;
    else if (this.#redirect === null) this.#words.push(this.#word);
    else if (this.#redirect.includes(">")) this.#writesTo.push(this.#word);
    this.#redirect = null;
    this.#word = "";
    this.#inWord = false;
  }

  #endCommand(piped: boolean): void {
    this.#endWord();
    this.#redirect = null;
    const command = {
      words: this.#words,
      pipedFrom: this.#pipedFrom,
      hereString: this.#hereString,
      writesTo: this.#writesTo,
    };
    if (command.words.length > 0 || command.hereString !== null) this.commands.push(command);
    this.#pipedFrom = piped ? command : null;
    this.#words = [];
    this.#hereString = null;
    this.#writesTo = [];
  }

  /** From an opening quote at #i to its closing one; with escapes, `\x` becomes `x`. */
  #quoted(quote: string, escapes: boolean): void {
    const line = this.line;
    let text = "";
    let i = this.#i + 1;
    for (; i < line.length && line[i] !== quote; i++) {
      if (escapes && line[i] === "\\" && i + 1 < line.length) i++;
      text += line[i];
    }
    this.#append(text);
    if (/\s/.test(text)) this.nested.push(text);
    this.#i = i;
  }

  /** `$(…)`, `<(…)` or `>(…)`: kept in the word as written, its inside read as code too. */
  #substitution(opener: string): void {
    const line = this.line;
    let depth = 0;
    let i = this.#i + 1;
    for (; i < line.length; i++) {
      if (line[i] === "(") depth++;
      else if (line[i] === ")" && --depth === 0) break;
    }
    const inner = line.slice(this.#i + 2, i);
    this.nested.push(inner);
    if (opener === "$") this.#append(`$(${inner})`);
    else this.#append(`${opener}(${inner})`);
    this.#i = i + 1;
  }

  #backticks(): void {
    const end = this.line.indexOf("`", this.#i + 1);
    const close = end === -1 ? this.line.length : end;
    const inner = this.line.slice(this.#i + 1, close);
    this.nested.push(inner);
    this.#append(`\`${inner}\``);
    this.#i = close;
  }

  /** `<`, `>`, `>>`, `<<`, `<<<`, `&>`, `2>&1`, …: the next word is a target, not an argument. */
  #redirection(): void {
    // A word of digits right before the operator is a file descriptor (`2>`).
    if (this.#inWord && /^\d+$/.test(this.#word)) {
      this.#word = "";
      this.#inWord = false;
    } else this.#endWord();
    const op =
      /^(?:<<<|<<-?|<>|<&|<|&>>|&>|>>|>&|>\|?)/.exec(this.line.slice(this.#i, this.#i + 3))![0];
    this.#i += op.length;
    // `>&2` and `<&0` name a descriptor: nothing follows to read as a target.
    if ((op === ">&" || op === "<&") && /\d|-/.test(this.line[this.#i] ?? "")) {
      while (/[\d-]/.test(this.line[this.#i] ?? "")) this.#i++;
      return;
    }
    this.#redirect = op;
  }
}
