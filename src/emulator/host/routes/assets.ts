/** `GET /_host/assets/:name`: the host page script and style (read once, when the router is made). */
import { readFileSync } from 'node:fs';
import type { Router } from 'express';

function assetText(name: string): string {
  return readFileSync(new URL(`../assets/${name}`, import.meta.url), 'utf8');
}

export function mountAssets(r: Router): void {
  const assets: Record<string, [string, string]> = {
    'host.js': [assetText('host.js'), 'text/javascript; charset=utf-8'],
    'host.css': [assetText('host.css'), 'text/css; charset=utf-8'],
  };
  r.get('/_host/assets/:name', (req, res) => {
    const a = assets[String(req.params.name)];
    if (!a) return res.status(404).end();
    res.type(a[1]).set('Cache-Control', 'no-cache').send(a[0]);
  });
}
