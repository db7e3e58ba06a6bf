// The page: a worker (worker.js) holds Pyodide and Lind and runs each program on
// Lind's cooperative runtime over this browser's WebAssembly; the page sends it the
// program and shows what comes back.
const $ = (id) => document.getElementById(id);
const status = (text) => { $("status").textContent = text; };
const controls = ["example", "upload", "grate", "args", "stdin", "keep", "run", "forget"];
const KEEP = "lind.keep";          // the box's state, remembered for the next visit

let worker, started, running = null;

function startWorker() {
  return new Promise((resolve, reject) => {
    worker = new Worker("worker.js", { type: "module" });
    worker.onmessage = ({ data }) => {
      if (data.ready) resolve(data.ready);
      else if (data.failed) reject(new Error(data.failed));
      else if (data.forgotten) forgotten();
      else if (running) finish(data);
    };
    worker.onerror = (event) => reject(new Error(event.message || "the worker failed"));
  });
}

function finish(data) {
  const name = running;
  running = null;
  $("stop").disabled = true;
  for (const id of controls) $(id).disabled = false;
  if (data.error) {
    $("output").textContent = data.error;
    status(`${name} could not run`);
    return;
  }
  const ms = Math.round(performance.now() - started);
  $("output").textContent = data.result.output;
  const kept = data.result.kept !== undefined ? `; files kept: ${data.result.kept} bytes` : "";
  status(`${name} exited with status ${data.result.status} (${ms} ms${kept})`);
  $("report").textContent = data.result.report;
  $("report").hidden = $("report-title").hidden = $("grate").value !== "aquarium";
}

function forgotten() {
  for (const id of controls) $(id).disabled = false;
  status("Kept files forgotten: the next run starts from a new tree.");
}

async function start() {
  if (!self.crossOriginIsolated) {
    status("This page needs cross-origin isolation (a shared WebAssembly memory): serve it " +
           "with `lind serve-web`, or send COOP/COEP headers.");
    return;
  }
  const site = await (await fetch("site.json")).json();
  const version = await startWorker();

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
    for (const id of controls) $(id).disabled = true;
    status("Starting\u2026");          // at once: the last run's status is gone
    $("output").textContent = "";
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
    status(`Running ${name}\u2026`);
    running = name;
    started = performance.now();
    $("stop").disabled = false;
    worker.postMessage({ bytes, argv: [name, ...args], stdin: $("stdin").value,
                         grate: $("grate").value, keep: $("keep").checked });
  });

  $("keep").checked = localStorage.getItem(KEEP) === "1";
  $("keep").addEventListener("change", () => {
    localStorage.setItem(KEEP, $("keep").checked ? "1" : "0");
  });
  $("forget").addEventListener("click", () => {
    for (const id of controls) $(id).disabled = true;
    worker.postMessage({ forget: true });
  });

  $("stop").addEventListener("click", async () => {
    const name = running;
    running = null;
    worker.terminate();
    $("stop").disabled = true;
    status(`${name} stopped; starting Lind again\u2026`);
    await startWorker();
    for (const id of controls) $(id).disabled = false;
    status(`${name} stopped.`);
  });

  for (const id of controls) $(id).disabled = false;
  status(`Ready: Pyodide ${version} and Lind loaded; pick a program and run it.`);
  document.body.dataset.ready = "1";
}

start().catch((error) => { status(`Lind did not load: ${error}`); console.error(error); });
