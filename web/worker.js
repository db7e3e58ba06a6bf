// Runs the cages off the page's thread: Pyodide and Lind's wheel load here, and each
// run request gets its result back. A program that never returns keeps only this
// worker busy; the page's Stop ends the worker (and makes a new one). With "keep",
// the run's file tree starts from the one kept in this browser's IndexedDB and is
// kept there again afterwards (as a zip archive, Lind's own tree format).
import { loadPyodide } from "./pyodide/pyodide.mjs";

const ready = (async () => {
  const site = await (await fetch("site.json")).json();
  const pyodide = await loadPyodide({ indexURL: new URL("pyodide/", self.location.href).href });
  pyodide.unpackArchive(await (await fetch(site.wheel)).arrayBuffer(), "wheel");
  return { pyodide, page: pyodide.pyimport("lind.portable.page") };
})();

ready.then(({ pyodide }) => postMessage({ ready: pyodide.version }),
           (error) => postMessage({ failed: String(error) }));

// The kept tree: one entry of one object store.
const DATABASE = "lind", STORE = "trees", KEPT = "files";

function kept(mode, act) {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open(DATABASE, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(STORE);
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
      const db = opening.result;
      const request = act(db.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = () => { db.close(); resolve(request.result); };
      request.onerror = () => { db.close(); reject(request.error); };
    };
  });
}

const keptFiles = () => kept("readonly", (store) => store.get(KEPT));
const keepFiles = (files) => kept("readwrite", (store) => store.put(files, KEPT));
const forgetFiles = () => kept("readwrite", (store) => store.delete(KEPT));

onmessage = async ({ data }) => {
  const { page } = await ready;
  try {
    if (data.forget) {
      await forgetFiles();
      postMessage({ forgotten: true });
      return;
    }
    const options = { keep: data.keep };
    const files = data.keep ? await keptFiles() : undefined;
    if (files) options.files = files;           // none kept yet: a new tree
    const result = page.run.callKwargs(data.bytes, data.argv, data.stdin, data.grate, options)
      .toJs({ dict_converter: Object.fromEntries });
    if (data.keep) {
      await keepFiles(result.files);
      result.kept = result.files.length;
      delete result.files;
    }
    postMessage({ result });
  } catch (error) {
    postMessage({ error: String(error) });
  }
};
