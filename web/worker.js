// Runs the cages off the page's thread: Pyodide and Lind's wheel load here, and each
// run request gets its result back. A program that never returns keeps only this
// worker busy; the page's Stop ends the worker (and makes a new one).
import { loadPyodide } from "./pyodide/pyodide.mjs";

const ready = (async () => {
  const site = await (await fetch("site.json")).json();
  const pyodide = await loadPyodide({ indexURL: new URL("pyodide/", self.location.href).href });
  pyodide.unpackArchive(await (await fetch(site.wheel)).arrayBuffer(), "wheel");
  return { pyodide, page: pyodide.pyimport("lind.portable.page") };
})();

ready.then(({ pyodide }) => postMessage({ ready: pyodide.version }),
           (error) => postMessage({ failed: String(error) }));

onmessage = async ({ data }) => {
  const { page } = await ready;
  try {
    const result = page.run(data.bytes, data.argv, data.stdin, data.grate)
      .toJs({ dict_converter: Object.fromEntries });
    postMessage({ result });
  } catch (error) {
    postMessage({ error: String(error) });
  }
};
