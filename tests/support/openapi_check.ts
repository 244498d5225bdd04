/**
 * Checks real responses against `/openapi.json`: the operation must be documented, its
 * status listed, its media type declared, its JSON body valid against the documented schema
 * (JSON Schema 2020-12, Ajv) and its required headers present. Wired into
 * `openTestApp().request()`, so every request the API tests make is checked.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { ValidateFunction } from "ajv";
import { openApiDocument } from "../../routes/openapi.ts";

const DOCUMENT = openApiDocument();
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats.default(ajv);
// The document's own fields are no schema keywords; schemas are reached by JSON pointer.
ajv.addVocabulary(["openapi", "info", "servers", "tags", "paths", "components"]);
ajv.addSchema(DOCUMENT, "openapi");

interface DocumentedResponse {
  content?: Record<string, unknown>;
  headers?: Record<string, { required?: boolean }>;
}

const TEMPLATES = Object.keys(DOCUMENT.paths).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/\{\w+\}/g, "[^/]+")}$`),
}));

/** The documented path template a request path falls under, if any. */
export function documentedPath(path: string): string | null {
  return TEMPLATES.find(({ pattern }) => pattern.test(path))?.template ?? null;
}

/** Throws, naming the difference, when `res` does not match the document. */
export async function assertMatchesDocument(
  method: string,
  url: string,
  encoded: Response,
): Promise<void> {
  const res = decoded(encoded);
  const path = new URL(url, "http://test").pathname;
  const template = documentedPath(path);
  const lower = method.toLowerCase() === "head" ? "get" : method.toLowerCase();
  const operations = template
    ? DOCUMENT.paths[template as keyof typeof DOCUMENT.paths] as Record<string, unknown>
    : undefined;
  const where = `${method} ${path} → ${res.status}`;
  if (!operations?.[lower]) {
    // Not an operation: only the contract's error answers (404, 405) may come back.
    if (res.status < 400) throw new Error(`${where}: the document has no such operation`);
    if (res.status === 405 && !res.headers.get("allow")) throw new Error(`${where}: no Allow`);
    return validate(validator("#/components/schemas/Error"), await res.json(), where);
  }
  const pointer = `#/paths/${escape(template!)}/${lower}/responses/${res.status}`;
  const documented = resolve(pointer) as DocumentedResponse | undefined;
  if (!documented) throw new Error(`${where}: status not documented for this operation`);
  for (const [name, header] of Object.entries(documented.headers ?? {})) {
    if (header.required && !res.headers.has(name)) throw new Error(`${where}: no ${name}`);
  }
  const media = res.headers.get("content-type")?.split(";")[0].trim();
  if (method.toUpperCase() === "HEAD") return;
  if (!documented.content) {
    const body = await res.text();
    if (body !== "" && res.status !== 101) throw new Error(`${where}: undocumented body`);
    return;
  }
  if (!media || !(media in documented.content)) {
    throw new Error(`${where}: content-type ${media} is not documented`);
  }
  if (media !== "application/json") return;
  validate(validator(`${pointer}/content/application~1json/schema`), await res.json(), where);
}

/** The answer as the client reads it once its Content-Encoding is undone. */
function decoded(res: Response): Response {
  const encoding = res.headers.get("content-encoding");
  if (!encoding || !res.body) return res;
  const format = (encoding === "br" ? "brotli" : encoding) as CompressionFormat;
  return new Response(res.body.pipeThrough(new DecompressionStream(format)), res);
}

function validate(check: ValidateFunction, body: unknown, where: string): void {
  if (!check(body)) {
    throw new Error(
      `${where}: body does not match the document: ${ajv.errorsText(check.errors)}\n` +
        JSON.stringify(body).slice(0, 2000),
    );
  }
}

function validator(pointer: string): ValidateFunction {
  const check = ajv.getSchema(`openapi${pointer}`);
  if (!check) throw new Error(`No schema at ${pointer}`);
  return check;
}

function resolve(pointer: string): unknown {
  return pointer.slice(2).split("/").map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce<unknown>(
      (node, part) => (node as Record<string, unknown> | undefined)?.[part],
      DOCUMENT,
    );
}

function escape(template: string): string {
  return template.replaceAll("~", "~0").replaceAll("/", "~1");
}
