/**
 * `deno task openapi [file]`: writes the OpenAPI document the app serves at `/openapi.json`,
 * without starting a server or opening a database (CI lints it).
 */
import { openApiDocument } from "../routes/openapi.ts";

const text = JSON.stringify(openApiDocument(), null, 2) + "\n";
if (Deno.args[0]) await Deno.writeTextFile(Deno.args[0], text);
else console.log(text);
