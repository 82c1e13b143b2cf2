// Copies the browser files of the npm dependencies the dashboard uses into
// web/ui/static/vendor, where the Go embed picks them up. Run by `make assets`.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const vendor = join(root, "web", "ui", "static", "vendor");

// [from node_modules, to vendor]
const files = [
  ["chart.js/dist/chart.umd.min.js", "chart.umd.min.js"],
  ["chart.js/LICENSE.md", "chart.js.LICENSE.md"],
];

mkdirSync(vendor, { recursive: true });
for (const [from, to] of files) {
  copyFileSync(join(root, "node_modules", from), join(vendor, to));
  console.log(`vendor/${to} <- ${from}`);
}
