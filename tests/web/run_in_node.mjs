// Runs one program the way the page does -- Pyodide and Lind's wheel from a site that
// `lind serve-web --build-only` built -- but under Node.js: what the tests check in CI.
// usage: node run_in_node.mjs SITE PROGRAM.wasm GRATE STDIN [ARGS...]; prints the result as JSON.
import fs from "node:fs";
import path from "node:path";

const [site, program, grate, stdin, ...args] = process.argv.slice(2);
process.on("uncaughtException", (error) => {    // its message, not Pyodide's whole source
  process.stderr.write(`run_in_node: ${error && error.message ? error.message : error}\n`);
  process.exit(1);
});
const { loadPyodide } = await import(path.resolve(site, "pyodide", "pyodide.mjs"));
const pyodide = await loadPyodide({ indexURL: path.resolve(site, "pyodide") + "/" });
const manifest = JSON.parse(fs.readFileSync(path.join(site, "site.json"), "utf8"));
pyodide.unpackArchive(new Uint8Array(fs.readFileSync(path.join(site, manifest.wheel))), "wheel");
const page = pyodide.pyimport("lind.portable.page");
const bytes = new Uint8Array(fs.readFileSync(program));
const result = page.run(bytes, [path.basename(program), ...args], stdin, grate)
  .toJs({ dict_converter: Object.fromEntries });
process.stdout.write(JSON.stringify(result) + "\n");
