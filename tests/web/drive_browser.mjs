// Drives the page in headless Chromium: runs every bundled example, prints each one's
// output and status as JSON, and saves a screenshot of the page after the last run.
// With UPLOAD.wasm, also runs that file as a person uploading it would (as "upload");
// with SPINNER.wasm, uploads it with the argument "spin", presses Stop while it runs,
// and runs the first example again afterwards (as "stopped" and "after"). Last, with
// "Keep files" on, runs the notebook, reloads the page, runs it again, then forgets the
// kept files and runs it once more (as "kept").
// usage: node drive_browser.mjs PLAYWRIGHT_CORE_DIR CHROMIUM URL SCREENSHOT.png
//                               [UPLOAD.wasm ARGS [SPINNER.wasm]]
import path from "node:path";

const [playwrightDir, chromium, url, screenshot, upload, uploadArgs, spinner] =
  process.argv.slice(2);
const finished = () => /exited with status|could not run/.test(
  document.getElementById("status").textContent);
const { chromium: launcher } = await import(path.resolve(playwrightDir, "index.mjs"));
const browser = await launcher.launch({
  executablePath: chromium,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const results = {};
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(url);
  await page.waitForSelector("body[data-ready='1']", { timeout: 120000 }).catch(async () => {
    throw new Error(`page not ready: ${await page.textContent("#status")} ${errors.join(" ")}`);
  });
  const names = await page.$$eval("#example option", (options) => options.map((o) => o.value));
  for (const name of names) {
    await page.selectOption("#example", name);
    await page.click("#run");
    await page.waitForFunction(finished, null, { timeout: 120000 });
    results[name] = {
      status: await page.textContent("#status"),
      output: await page.textContent("#output"),
      report: await page.textContent("#report"),
    };
  }
  if (upload) {
    await page.setInputFiles("#upload", upload);
    await page.selectOption("#grate", "none");
    await page.fill("#args", uploadArgs || "");
    await page.fill("#stdin", "");
    await page.click("#run");
    await page.waitForFunction(finished, null, { timeout: 120000 });
    results.upload = {
      status: await page.textContent("#status"),
      output: await page.textContent("#output"),
    };
  }
  if (spinner) {
    await page.setInputFiles("#upload", spinner);
    await page.fill("#args", "spin");
    await page.click("#run");
    await page.waitForTimeout(1500);
    const whileRunning = await page.textContent("#status");
    await page.click("#stop");
    await page.waitForFunction(() => / stopped\.$/.test(
      document.getElementById("status").textContent), null, { timeout: 120000 });
    results.stopped = { whileRunning, status: await page.textContent("#status") };
    await page.setInputFiles("#upload", []);
    await page.selectOption("#example", names[0]);
    await page.click("#run");
    await page.waitForFunction(finished, null, { timeout: 120000 });
    results.after = { status: await page.textContent("#status") };
  }
  if (upload || spinner)
    await page.setInputFiles("#upload", []);
  const notebook = async (entry) => {
    await page.selectOption("#example", "notebook");
    await page.fill("#args", entry);
    await page.click("#run");
    await page.waitForFunction(finished, null, { timeout: 120000 });
    return { status: await page.textContent("#status"), output: await page.textContent("#output") };
  };
  await page.check("#keep");
  const first = await notebook("first");
  await page.reload();
  await page.waitForSelector("body[data-ready='1']", { timeout: 120000 });
  const stillChecked = await page.isChecked("#keep");
  const afterReload = await notebook("second");
  await page.click("#forget");
  await page.waitForFunction(() => /forgotten/.test(
    document.getElementById("status").textContent), null, { timeout: 120000 });
  const afterForget = await notebook("third");
  await page.uncheck("#keep");
  results.kept = { first, stillChecked, afterReload, afterForget };
  await page.selectOption("#example", names[names.length - 1]);
  await page.screenshot({ path: screenshot, fullPage: true });
  results.crossOriginIsolated = await page.evaluate(() => self.crossOriginIsolated);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(results) + "\n");
