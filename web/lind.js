// The page: Pyodide and Lind's wheel from this site, then each run on Lind's
// cooperative runtime (lind.portable.page.run) over this browser's WebAssembly.
import { loadPyodide } from "./pyodide/pyodide.mjs";

const $ = (id) => document.getElementById(id);
const status = (text) => { $("status").textContent = text; };

async function start() {
  if (!self.crossOriginIsolated) {
    status("This page needs cross-origin isolation (a shared WebAssembly memory): serve it " +
           "with `lind serve-web`, or send COOP/COEP headers.");
    return;
  }
  const site = await (await fetch("site.json")).json();
  const pyodide = await loadPyodide({ indexURL: new URL("pyodide/", location.href).href });
  const wheel = await (await fetch(site.wheel)).arrayBuffer();
  pyodide.unpackArchive(wheel, "wheel");
  const page = pyodide.pyimport("lind.portable.page");

  for (const example of site.examples) {
    const option = document.createElement("option");
    option.value = example.name;
    option.textContent = example.name + (example.grate !== "none" ? ` (under ${example.grate})` : "");
    $("example").append(option);
  }
  const chosen = () => site.examples.find((e) => e.name === $("example").value);
  const fill = () => {
    const example = chosen();
    $("grate").value = example.grate;
    $("args").value = example.args.join(" ");
    $("stdin").value = example.stdin;
    $("upload").value = "";
  };
  $("example").addEventListener("change", fill);
  fill();

  $("run").addEventListener("click", async () => {
    $("run").disabled = true;
    status("Running\u2026");
    $("output").textContent = "";
    await new Promise((resolve) => setTimeout(resolve, 0));   // let the page repaint first
    let name, bytes;
    const file = $("upload").files[0];
    if (file) {
      name = file.name;
      bytes = new Uint8Array(await file.arrayBuffer());
    } else {
      const example = chosen();
      name = example.program.split("/").pop();
      bytes = new Uint8Array(await (await fetch(example.program)).arrayBuffer());
    }
    const args = $("args").value.trim() ? $("args").value.trim().split(/\s+/) : [];
    const started = performance.now();
    try {
      const result = page.run(bytes, [name, ...args], $("stdin").value, $("grate").value)
        .toJs({ dict_converter: Object.fromEntries });
      $("output").textContent = result.output;
      const ms = Math.round(performance.now() - started);
      status(`${name} exited with status ${result.status} (${ms} ms)`);
      $("report").textContent = result.report;
      $("report").hidden = $("report-title").hidden = $("grate").value !== "aquarium";
    } catch (error) {
      $("output").textContent = String(error);
      status(`${name} could not run`);
    }
    $("run").disabled = false;
  });

  for (const id of ["example", "upload", "grate", "args", "stdin", "run"]) $(id).disabled = false;
  status(`Ready: Pyodide ${pyodide.version} and Lind loaded; pick a program and run it.`);
  document.body.dataset.ready = "1";
}

start().catch((error) => { status(`Lind did not load: ${error}`); console.error(error); });
