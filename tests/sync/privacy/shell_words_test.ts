import assert from "node:assert/strict";
import { simpleCommands } from "../../../sync/privacy/shell_words.ts";

function shape(line: string) {
  return simpleCommands(line).map((c) => ({
    words: c.words,
    from: c.pipedFrom?.words ?? null,
    here: c.hereString,
    to: c.writesTo,
  }));
}

Deno.test("simpleCommands() removes quotes and escapes and splits on operators", () => {
  assert.deepEqual(shape(`git commit -m 'it'"'"'s done' && echo "a \\"b\\"" ; ls\\ x`), [
    { words: ["git", "commit", "-m", "it's done"], from: null, here: null, to: [] },
    { words: ["echo", 'a "b"'], from: null, here: null, to: [] },
    { words: ["ls x"], from: null, here: null, to: [] },
    // Quoted text holding a space is read again as code (`bash -c '…'`).
    { words: ["s", "done"], from: null, here: null, to: [] },
    { words: ["a", "b"], from: null, here: null, to: [] },
  ]);
});

Deno.test("simpleCommands() links pipes, keeps here-strings and sets redirection targets apart", () => {
  const [echo, login] = shape(`echo "pw" | docker login -u x --password-stdin 2>&1 >/dev/null`);
  assert.deepEqual(login, {
    words: ["docker", "login", "-u", "x", "--password-stdin"],
    from: ["echo", "pw"],
    here: null,
    to: ["/dev/null"],
  });
  assert.deepEqual(echo.words, ["echo", "pw"]);
  assert.deepEqual(shape("gh secret set X < token.txt")[0].words, ["gh", "secret", "set", "X"]);
  assert.equal(shape("docker secret create db - <<< abc")[0].here, "abc");
});

Deno.test("simpleCommands() reads nested code: $(…), backticks, <(…), quoted commands", () => {
  const words = shape(
    `TOKEN=$(curl -u a:b https://x) ssh h "mysql -pX" \`id -u\` <(echo k)`,
  ).map((c) => c.words);
  assert.deepEqual(words.slice(1), [
    ["curl", "-u", "a:b", "https://x"],
    ["mysql", "-pX"],
    ["id", "-u"],
    ["echo", "k"],
  ]);
});
