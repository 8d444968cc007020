/**
 * The console's page: client/console/ui bundled by esbuild in memory when first asked for (no build
 * step, no files written), Preact and uPlot included, so the page loads nothing from elsewhere and
 * works offline.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

export interface ConsoleAssets {
  html: string;
  js: string;
  css: string;
}

/** Where the page loads its script and styles from; `/` serves the page itself. */
export const ASSET_PATHS = { js: '/console/app.js', css: '/console/app.css' } as const;

const ENTRY = fileURLToPath(new URL('./ui/main.tsx', import.meta.url));

let bundled: Promise<ConsoleAssets> | undefined;

/** The bundle, built once per process. */
export function consoleAssets(): Promise<ConsoleAssets> {
  bundled ??= bundle().catch((err: unknown) => {
    bundled = undefined; // a later request tries again
    throw err;
  });
  return bundled;
}

async function bundle(): Promise<ConsoleAssets> {
  const result = await build({
    entryPoints: { app: ENTRY },
    bundle: true,
    write: false,
    outdir: 'console-bundle',
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    minify: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'))?.text;
  const css = result.outputFiles.find((f) => f.path.endsWith('.css'))?.text ?? '';
  if (js === undefined) throw new Error('esbuild produced no script for the console');
  return { html: PAGE, js, css };
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>RIQ console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSET_PATHS.css}">
</head>
<body>
<div id="app"><p class="loading">Loading the RIQ console…</p></div>
<script type="module" src="${ASSET_PATHS.js}"></script>
</body>
</html>
`;
